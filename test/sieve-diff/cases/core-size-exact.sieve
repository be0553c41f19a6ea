# Neither :over nor :under is true at the exact size; a number with suffix M.
require "fileinto";
if size :over 1M { fileinto "Huge"; }
if not size :under 0 { fileinto "NotUnderZero"; }

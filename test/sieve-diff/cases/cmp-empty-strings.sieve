require "fileinto";
if header :contains "subject" "" { fileinto "ContainsEmpty"; }
if header :is "subject" "" { fileinto "IsEmpty"; }
if header :matches "subject" "" { fileinto "MatchesEmpty"; }
if header :contains "x-missing" "" { fileinto "MissingContainsEmpty"; }

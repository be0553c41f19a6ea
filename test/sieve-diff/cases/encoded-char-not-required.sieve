# Without the extension the text is literal.
require "fileinto";
fileinto "${hex:41}";

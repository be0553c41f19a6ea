require "fileinto";
if header :contains "subject" "会議" { fileinto "RawUtf8"; }
if address :localpart :is "from" "tanaka" { fileinto "LocalTanaka"; }

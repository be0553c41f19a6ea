require "fileinto";
if header :contains "subject" "Über das Treffen am Montag" { fileinto "DecodedB"; }
if header :is "subject" "Re: Über das Treffen am Montag" { fileinto "IsWholeDecoded"; }
if header :contains "subject" "=?UTF-8?" { fileinto "RawSeen"; }

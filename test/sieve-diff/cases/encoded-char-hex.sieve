require ["encoded-character", "fileinto"];
# "${hex:4d 65 65}" is "Mee"; the test matches "Meeting tomorrow".
if header :contains "subject" "${hex:4d 65 65}ting" { fileinto "${hex:48 65 78}"; }

require "fileinto";
if anyof (false, not exists "x-missing", header :is "x-none" "") {
  if allof (true, exists ["from", "to"], not header :contains "subject" "zzz") {
    fileinto "Matched";
  }
}

require "fileinto";
if size :over 1K {
  fileinto "Large";
} elsif size :under 200 {
  fileinto "Tiny";
} else {
  fileinto "Medium";
}

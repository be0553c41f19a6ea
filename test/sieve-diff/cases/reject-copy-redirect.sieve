# redirect :copy does not cancel the implicit keep; reject still conflicts with it.
require ["reject", "copy"];
redirect :copy "carol@example.net";
reject "no";

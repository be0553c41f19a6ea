require "vacation";
vacation :days 3 "Seen through Bcc or Resent-To.";

# vacation does not cancel the implicit keep.
require "vacation";
vacation "Away.";

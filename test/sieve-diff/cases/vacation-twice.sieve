# Only one vacation per run (RFC 5230 §4.7): the second is an error.
require "vacation";
vacation "One.";
vacation "Two.";

require "reject";
reject "";

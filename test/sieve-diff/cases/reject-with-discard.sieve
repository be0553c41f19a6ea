require "reject";
discard;
reject "Go away";

require "reject";
reject "I do not accept messages from you.";

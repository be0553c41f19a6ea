require "vacation";
vacation :addresses ["robert@example.com", "bob@old.example.com"] "Away (alias aware).";

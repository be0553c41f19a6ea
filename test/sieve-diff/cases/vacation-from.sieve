require "vacation";
vacation :from "Bob Example <bob@example.com>" :subject "Away" "Away this week.";

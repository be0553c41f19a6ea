require ["reject", "vacation"];
vacation "Away";
reject "no";

# Addresses inside a group are tested; the group name is not an address.
require "fileinto";
if address :is "to" "carol@example.com" { fileinto "InGroup"; }
if address :is "to" "dave@example.net" { fileinto "QuotedName"; }
if address :is "to" "bob@example.com" { fileinto "WithComment"; }
if address :contains "to" "Team" { fileinto "GroupName"; }

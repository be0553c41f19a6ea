# fileinto "INBOX" is the same action as keep: one copy in INBOX.
require "fileinto";
fileinto "INBOX";
keep;

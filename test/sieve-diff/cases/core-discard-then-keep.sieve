# keep after discard still stores the message (RFC 5228 §4.5: discard only cancels the implicit keep).
discard;
keep;

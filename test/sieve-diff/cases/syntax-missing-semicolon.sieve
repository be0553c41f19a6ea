keep
discard;

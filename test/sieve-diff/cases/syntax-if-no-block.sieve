if true keep;

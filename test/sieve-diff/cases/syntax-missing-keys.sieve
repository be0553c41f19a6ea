if header "subject" { discard; }

if envelope "from" "alice@example.org" { discard; }

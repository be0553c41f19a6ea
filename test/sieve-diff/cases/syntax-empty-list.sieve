if header :is [] "x" { discard; }

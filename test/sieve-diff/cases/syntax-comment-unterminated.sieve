keep;
/* never closed

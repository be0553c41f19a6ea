require "vacation";
vacation text:
Away until Monday.
..This line starts with a dot.
.
;

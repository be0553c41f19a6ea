require "vacation";
vacation :mime text:
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

Ich bin im Urlaub. Grüße!
.
;

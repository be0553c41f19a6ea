require "reject";
if header :contains "subject" "sale" {
  reject text:
Please remove me from your list.
Thank you.
.
;
}

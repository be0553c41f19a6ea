require "fileinto";
if header :contains "subject" text:
Meeting
.
{
  fileinto text: # comment after text:
Multi..Line
..dots
.
;
}

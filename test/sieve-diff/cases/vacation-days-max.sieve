# Longer than the site's longest period: both clamp it (RFC 6131 §2, the runner gives Pigeonhole
# postbode's minimum and maximum).
require "vacation";
vacation :days 100 "Away for a long time.";

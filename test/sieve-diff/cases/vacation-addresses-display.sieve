# :addresses items may carry a display name; they are addresses, not patterns.
require "vacation";
vacation :addresses ["Robert <robert@example.com>"] :subject "Re: your mail" "Away.";

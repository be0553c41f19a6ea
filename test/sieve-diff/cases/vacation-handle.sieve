require "vacation";
vacation :handle "summer-2026" :days 7 "Summer holidays.";

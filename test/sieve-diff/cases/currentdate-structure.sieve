# Clock-independent checks of currentdate: the parts exist and have the right shape.
require ["date", "relational", "fileinto"];
if currentdate :value "ge" "year" "2020" { fileinto "Year>=2020"; }
if currentdate :zone "+0000" :matches "iso8601" "????-??-??T??:??:??Z" { fileinto "IsoShape"; }
if currentdate :matches "zone" ["+????", "-????"] { fileinto "ZoneShape"; }
if currentdate :matches "weekday" ["0", "1", "2", "3", "4", "5", "6"] { fileinto "Weekday"; }

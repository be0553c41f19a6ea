require "vacation";
vacation :subject "Abwesend – zurück am Montag" :from "Bjørn <bob@example.com>" "Ich bin bis Montag nicht erreichbar. Grüße, Bjørn";

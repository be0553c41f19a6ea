require "reject";
reject "This reason is deliberately longer than one hundred and twenty-eight octets, so that the printed form is cut and ends in three dots: ÄÖÜ äöü.";

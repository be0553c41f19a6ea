require "reject";
reject "Nachricht abgelehnt: Größe überschritten.";

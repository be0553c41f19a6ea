exists "subject";

require ["fileinto", "variables"];
set "box" "";
fileinto "${box}";

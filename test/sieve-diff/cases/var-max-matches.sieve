require ["variables", "fileinto"];
if header :matches "subject" "*e*e*i*g*t*o*o*r*r*o*w*" {
  fileinto "${1}.${2}.${3}.${4}.${5}.${6}.${7}.${8}.${9}.${10}.${11}";
}

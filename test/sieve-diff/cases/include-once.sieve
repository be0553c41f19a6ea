require "include";
include :once "flag-seen";
include :once "flag-seen";
include "flag-seen";

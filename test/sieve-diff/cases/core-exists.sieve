require "fileinto";
if exists "list-id" { fileinto "HasListId"; }
if exists ["x-empty", "x-label"] { fileinto "EmptyHeaderExists"; }
if not exists "message-id" { fileinto "NoMessageId"; }

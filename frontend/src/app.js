// Progressive enhancement shared by every page. Page-specific bundles live beside this file.
document.documentElement.classList.add("js");

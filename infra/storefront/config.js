// Optional deployment settings, read by app.js. This file is replaced when the page is hosted
// elsewhere (e.g. on S3 in front of API Gateway); left as it is, the page uses its own origin.
//
// window.STOREFRONT_CONFIG = {
//   apiBase: "https://abc123.execute-api.ap-east-1.amazonaws.com", // API origin (+ optional path prefix)
//   simulator: false,                                           // a URL, or false to hide the simulator link
// };

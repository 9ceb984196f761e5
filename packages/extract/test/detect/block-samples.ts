// Realistic HTML snippets for detect-block tests: real walls and the pages
// that look a bit like them but must pass (near-misses).

export const doc = (title: string, body: string, head = ""): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>${head}</head><body>${body}</body></html>`;

const SENTENCES = [
  "The harbour council approved the new budget after a long debate about the ferry timetable.",
  "Residents had asked for more frequent crossings in winter, when the coastal road is often closed.",
  "The museum will reopen its maritime wing in the spring with a restored lifeboat as the centrepiece.",
  "Local schools have been invited to a week of workshops on navigation, weather and tides.",
  "Traders on the quay reported their busiest summer in a decade, helped by the festival crowds.",
  "Engineers expect the bridge repairs to finish before the autumn storms arrive.",
];

/** `n` paragraphs of plain news prose (about 500 characters each). */
export function prose(n: number, seed = 0): string {
  return Array.from({ length: n }, (_, i) => {
    const s = Array.from({ length: 5 }, (_, j) => SENTENCES[(i + j + seed) % SENTENCES.length]).join(" ");
    return `<p>${s}</p>`;
  }).join("\n");
}

export const SITE_HEADER = `<header><a href="/" class="logo">Harbour Gazette</a><nav><a href="/news">News</a> <a href="/sport">Sport</a> <a href="/account/login" class="login">Sign in</a> <a href="/subscribe">Subscribe</a></nav></header>`;
export const SITE_FOOTER = `<footer><p>&copy; 2024 Harbour Gazette. All rights reserved.</p><a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>`;

export const CF_BLOCKED = doc(
  "Attention Required! | Cloudflare",
  `<div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper"><div class="cf-wrapper cf-header cf-error-overview"><h1 data-translate="block_headline">Sorry, you have been blocked</h1><h2 class="cf-subheadline">You are unable to access shop.example</h2></div><div class="cf-section"><h2>Why have I been blocked?</h2><p>This website is using a security service to protect itself from online attacks. The action you just performed triggered the security solution.</p></div><div class="cf-footer">Cloudflare Ray ID: <strong>8c1f0e0f0a0b0c0d</strong></div></div></div>`,
);

export const CF_MANAGED_NEW = doc(
  "Just a moment...",
  `<div class="main-wrapper" role="main"><div class="main-content"><h1 class="zone-name-title h1">shop.example</h1><p class="h2 spacer-bottom">Verifying you are human. This may take a few seconds.</p><div id="challenge-stage"></div><div class="core-msg spacer spacer-top">shop.example needs to review the security of your connection before proceeding.</div></div></div><script src="/cdn-cgi/challenge-platform/h/g/orchestrate/chl_page/v1?ray=8c1f"></script>`,
);

export const AKAMAI_DENIED = doc(
  "Access Denied",
  `<h1>Access Denied</h1>You don't have permission to access "http://www.shop.example/product/1" on this server.<p>Reference #18.4c2e1302.1700000000.5a2b3c4d</p><p>https://errors.edgesuite.net/18.4c2e1302.1700000000.5a2b3c4d</p>`,
);

export const PERIMETERX = doc(
  "Access to this page has been denied",
  `<div class="px-captcha-container"><h1>Please verify you are a human</h1><p>Press &amp; Hold to confirm you are a human (and not a bot).</p><div id="px-captcha"></div><p>Reference ID 1a2b3c4d-5e6f</p></div><script>window._pxAppId = 'PXabc123';window._pxJsClientSrc = '/abc123/init.js';</script>`,
);

export const DATADOME = doc(
  "shop.example",
  `<p id="cmsg">Please enable JS and disable any ad blocker</p><script>var dd={'rt':'c','cid':'AHrlqAAAAAMA','hsh':'2211F522B61E269B869FA6EAFFB5E1','t':'fe','s':17434,'host':'geo.captcha-delivery.com'}</script><script src="https://ct.captcha-delivery.com/c.js"></script>`,
);

export const IMPERVA_PARDON = doc(
  "Pardon Our Interruption",
  `<div class="container"><h1>Pardon Our Interruption</h1><p>As you were browsing something about your browser made us think you were a bot. There are a few reasons this might happen:</p><ul><li>You're a power user moving through this website with super-human speed.</li><li>You've disabled cookies in your web browser.</li><li>A third-party browser plugin, such as Ghostery or NoScript, is preventing JavaScript from running.</li></ul><p>To regain access, please make sure that cookies and JavaScript are enabled before reloading the page.</p></div>`,
);

export const INCAPSULA = doc(
  "",
  `<iframe id="main-iframe" src="/_Incapsula_Resource?CWUDNSAI=9&xinfo=8-12345-0%20&incident_id=123-456&edet=15" frameborder="0" width="100%" height="100%">Request unsuccessful. Incapsula incident ID: 123000450123456-789</iframe>`,
  `<meta name="robots" content="noindex,nofollow">`,
);

export const ROBOT_CHECK = doc(
  "Are you a robot?",
  `<section class="box"><h1>We've detected unusual activity from your computer network</h1><p>To continue, please click the box below to let us know you're not a robot.</p><div id="px-captcha"></div></section>`,
);

export const HCAPTCHA_WALL = doc(
  "Security check",
  `<main><h1>One moment</h1><p>Please verify you are a human to continue to the forum.</p><form method="post"><div class="h-captcha" data-sitekey="10000000-ffff-ffff-ffff-000000000001"></div><button>Submit</button></form></main><script src="https://hcaptcha.com/1/api.js" async defer></script>`,
);

export const TURNSTILE_ONLY = doc(
  "Security check",
  `<main><h1>Security check</h1><form method="post" action="/verify"><div class="cf-turnstile" data-sitekey="1x00000000000000000000AA"></div><button type="submit">Continue</button></form></main>`,
);

export const LINKEDIN_AUTHWALL = doc(
  "Sign Up | LinkedIn",
  `<main><h1>Join LinkedIn</h1><p>Sign in to view Jane Doe’s full profile</p><form action="/uas/login-submit" method="post"><input type="text" name="session_key" autocomplete="username"><input type="password" name="session_password"><button type="submit">Sign in</button></form><p>New to LinkedIn? <a href="/signup">Join now</a></p></main>`,
);

export const INSTAGRAM_WALL = doc(
  "Instagram",
  `<main><h2>Log in to see photos and videos from friends.</h2><a href="/accounts/login/">Log in</a> <a href="/accounts/emailsignup/">Sign up</a></main><footer><a href="/about">About</a> <a href="/legal/privacy">Privacy</a></footer>`,
);

export const BARE_PASSWORD_FORM = doc(
  "Customer portal",
  `<div class="card"><h1>Welcome back</h1><form method="post"><label>Username <input name="u"></label><label>Password <input type="password" name="p"></label><button>Log in</button></form><a href="/reset">Forgot your password?</a></div>`,
);

/** Long article about CAPTCHAs: wall wording and even widget markup in a code sample. */
export const CAPTCHA_ARTICLE = doc(
  "How CAPTCHAs work, and why they are getting harder - Tech Weekly",
  `${SITE_HEADER}<article><h1>How CAPTCHAs work</h1><p>Every time a site asks you to verify you are human, or to tick "I'm not a robot", a CAPTCHA is deciding whether you are a person.</p>${prose(6)}<pre><code>&lt;div class="g-recaptcha" data-sitekey="..."&gt;&lt;/div&gt;</code></pre><p>Solving the captcha is only the visible part: the score is computed from signals collected long before.</p>${prose(3, 2)}</article>${SITE_FOOTER}`,
);

export const PRODUCT_WITH_LOGIN_LINK = doc(
  "Trailblazer 30L Hiking Backpack - Outdoor Shop",
  `${SITE_HEADER}<div class="account-menu"><a href="/login">Log in</a> or <a href="/register">create an account</a> to track orders</div><main class="product"><h1>Trailblazer 30L Hiking Backpack</h1><p class="price">$39.99</p><p>In stock. Free delivery over $50.</p><section><h2>Description</h2><p>A lightweight 30 litre daypack with a ventilated back panel, rain cover and hydration sleeve. Padded hip belt with two zipped pockets, trekking pole loops and a reflective strip for evening walks.</p><h2>Specifications</h2><table><tr><td>Capacity</td><td>30 L</td></tr><tr><td>Weight</td><td>1.1 kg</td></tr><tr><td>Material</td><td>Ripstop nylon</td></tr></table></section><section class="reviews"><h2>Reviews</h2>${prose(2, 1)}</section></main>${SITE_FOOTER}`,
);

export const BLOG_WITH_COMMENT_CAPTCHA = doc(
  "Ten walks along the northern coast - Trail Notes",
  `${SITE_HEADER}<article><h1>Ten walks along the northern coast</h1>${prose(5, 3)}</article><section id="comments"><h2>Leave a comment</h2><form action="/comments" method="post"><input type="text" name="author"><input type="email" name="email"><textarea name="comment"></textarea><div class="g-recaptcha" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div><button>Post comment</button></form></section>${SITE_FOOTER}`,
  `<script src="https://www.google.com/recaptcha/api.js" async defer></script>`,
);

export const NEWSLETTER_CAPTCHA = doc(
  "Harbour council approves budget - Harbour Gazette",
  `${SITE_HEADER}<article><h1>Harbour council approves budget</h1>${prose(4, 4)}</article><aside class="newsletter"><h3>Get the morning briefing</h3><form><input type="email" name="email"><div class="g-recaptcha" data-size="invisible" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div><button>Sign up</button></form></aside>${SITE_FOOTER}`,
);

export const CONTACT_FORM_CAPTCHA = doc(
  "Contact us - Harbour Gazette",
  `<main><h1>Contact us</h1><p>Questions about a story or your subscription? Send us a message and we will answer within two working days.</p><form><input type="text" name="name"><input type="email" name="email"><textarea name="message"></textarea><div class="cf-turnstile" data-sitekey="1x00000000000000000000AA"></div><button>Send</button></form></main>`,
);

export const ARTICLE_WITH_CF_SCRIPT = doc(
  "Ferry timetable changes this winter - Harbour Gazette",
  `${SITE_HEADER}<article><h1>Ferry timetable changes this winter</h1>${prose(5, 5)}</article>${SITE_FOOTER}<script>(function(){function c(){var b=a.contentDocument||a.contentWindow.document;if(b){var d=b.createElement('script');d.innerHTML="window.__CF$cv$params={r:'8c1f',t:'MTcwMDAwMDAwMA=='};var a=document.createElement('script');a.src='/cdn-cgi/challenge-platform/scripts/jsd/main.js';document.getElementsByTagName('head')[0].appendChild(a);";b.getElementsByTagName('head')[0].appendChild(d)}}var a=document.createElement('iframe');document.body.appendChild(a);c()})();</script>`,
);

export const ACCESS_DENIED_ARTICLE = doc(
  "Why you see 'Access Denied' errors, explained - Tech Weekly",
  `${SITE_HEADER}<article><h1>Why you see "Access Denied" errors</h1>${prose(6, 1)}</article>${SITE_FOOTER}`,
);

export const FORUM_WITH_LOGIN_BOX = doc(
  "Best day hikes near the harbour - Hiking Forum",
  `${SITE_HEADER}<aside class="login-box"><form action="/login" method="post"><input name="user"><input type="password" name="pass"><button>Log in</button></form></aside><main><h1>Best day hikes near the harbour</h1>${prose(6, 2)}</main>${SITE_FOOTER}`,
);

/** A short product page (~500 chars of text) with an invisible reCAPTCHA on its newsletter box. */
export const SMALL_PRODUCT_NEWSLETTER = doc(
  "Summit Insulated Water Bottle - Outdoor Shop",
  `<main class="product"><h1>Summit Insulated Water Bottle</h1><p class="price">$24.50</p><p>Double-walled stainless steel bottle that keeps drinks cold for 24 hours or hot for 12. Leak-proof lid with a carry loop, fits most cup holders, dishwasher safe.</p><table><tr><td>Capacity</td><td>750 ml</td></tr><tr><td>Weight</td><td>380 g</td></tr></table><button>Add to cart</button></main><aside><form><input type="email" name="email" placeholder="Your email"><div class="g-recaptcha" data-size="invisible" data-sitekey="6LeIxAcTAAAAAJcZVRqyHh71UMIEGNQ_MXjiZKhI"></div><button>Subscribe</button></form></aside>`,
);

/** Cloudflare's own error page for an unreachable origin: an HTTP error, not a challenge. */
export const CF_522 = doc(
  "shop.example | 522: Connection timed out",
  `<div id="cf-wrapper"><div id="cf-error-details" class="p-0"><header><h1><span class="inline-block">Connection timed out</span> <span class="code-label">Error code 522</span></h1></header><p>Visit cloudflare.com for more information.</p><div class="cf-error-source"><p>The initial connection between Cloudflare's network and the origin web server timed out.</p></div><p>Cloudflare Ray ID: 8c1f0e0f0a0b0c0d</p></div></div>`,
);

export const CF_1020 = doc(
  "Access denied | shop.example used Cloudflare to restrict access",
  `<div id="cf-wrapper"><div id="cf-error-details"><h1>Access denied</h1><span>Error code 1020</span><p>You do not have access to shop.example.</p><p>The site owner may have set restrictions that prevent you from accessing the site.</p></div></div>`,
);

/** A short help article whose title starts like an interstitial. */
export const HELP_VERIFYING_EMAIL = doc(
  "Verifying your email address - Help Center",
  `<main><h1>Verifying your email address</h1>${prose(2, 1)}<p>If the message does not arrive, check your spam folder or request a new link.</p></main>`,
);

/** A short WordPress post: its comment box says "You must be logged in to post a comment." */
export const WORDPRESS_SHORT_POST = doc(
  "Harbour clean-up this Saturday - Community Blog",
  `<article><h1>Harbour clean-up this Saturday</h1>${prose(2, 3)}</article><div id="respond" class="comment-respond"><h3 id="reply-title">Leave a Reply</h3><p class="must-log-in">You must be <a href="/wp-login.php">logged in</a> to post a comment.</p></div>`,
);

/** A medium post with a sidebar login box (password field) and "Please log in to comment". */
export const POST_WITH_SIDEBAR_LOGIN = doc(
  "Tide tables explained - Sailing Club",
  `<main><h1>Tide tables explained</h1>${prose(4, 2)}</main><aside><p>Please log in to comment.</p><form action="/login" method="post"><input name="user"><input type="password" name="pass"><button>Log in</button></form></aside>`,
);

export const MEMBERS_ONLY = doc(
  "Members area - Sailing Club",
  `<header><a href="/">Sailing Club</a></header><main><h1>Members area</h1><p>You must be logged in to view this page.</p><a href="/login">Log in</a></main>`,
);

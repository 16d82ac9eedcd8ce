-- The versioned reference list of user-agent patterns (the list is below).
-- Each pattern is a lower-case regular expression matched with
-- regexp_like(lower(user_agent), pattern); keep them RE2-compatible (no
-- look-around, no back-references) so Athena (Java regex) and DuckDB (RE2)
-- agree. To change the list: add rows and bump `version` (old versions stay
-- for audit; the flagging reads the highest version). Re-running a version
-- changes nothing.
{%- set version = 1 %}
{%- set valid_from = "2026-11-25" %}
{%- set patterns = [
    ("crawler_google", "crawler", "googlebot|google-inspectiontool|adsbot-google|mediapartners-google", "Google's crawlers"),
    ("crawler_bing", "crawler", "bingbot|bingpreview|msnbot|adidxbot", "Microsoft Bing's crawlers"),
    ("crawler_yandex_baidu", "crawler", "yandex(bot|images|mobilebot)|baiduspider|sogou|360spider", "Yandex, Baidu and other search engines"),
    ("crawler_seo", "crawler", "ahrefsbot|semrushbot|mj12bot|dotbot|dataforseobot|blexbot|serpstatbot|rogerbot", "SEO crawlers"),
    ("crawler_ai", "crawler", "gptbot|chatgpt-user|oai-searchbot|claudebot|claude-web|anthropic-ai|perplexitybot|ccbot|bytespider|amazonbot|applebot", "AI and assistant crawlers"),
    ("crawler_other", "crawler", "duckduckbot|petalbot|seznambot|qwantify|ia_archiver|archive\\.org_bot", "other declared crawlers"),
    ("crawler_generic", "crawler", "\\bbot\\b|crawler|spider|crawling|\\+https?://", "a declared bot: the word bot/crawler/spider, or a contact URL in the agent"),
    ("preview_social", "preview", "facebookexternalhit|facebookcatalog|twitterbot|linkedinbot|pinterestbot|redditbot", "social link previews"),
    ("preview_chat", "preview", "slackbot|slack-imgproxy|discordbot|telegrambot|whatsapp|skypeuripreview|viber|snapchat|iframely|embedly", "chat app link unfurlers"),
    ("http_library_cli", "http_library", "^curl/|^wget/|^httpie/|^libwww-perl|^lwp-", "command-line HTTP tools"),
    ("http_library_python", "http_library", "python-requests|python-urllib|python-httpx|aiohttp|scrapy|httplib2", "Python HTTP libraries"),
    ("http_library_other", "http_library", "go-http-client|okhttp|apache-httpclient|java/|axios/|node-fetch|undici|got \\(|postmanruntime|insomnia|guzzlehttp|ruby|restsharp", "HTTP libraries of other languages"),
    ("headless_browser", "headless", "headlesschrome|phantomjs|slimerjs|puppeteer|playwright|selenium|webdriver|htmlunit|electron/.* headless", "headless and automated browsers"),
    ("headless_lighthouse", "headless", "chrome-lighthouse|lighthouse|pagespeed|gtmetrix", "page-speed auditors"),
    ("monitoring_uptime", "monitoring", "pingdom|uptimerobot|statuscake|site24x7|newrelicpinger|datadog|checkly|better uptime", "uptime monitors"),
] %}
merge into analytics.bot_user_agent_patterns as target
using (
    select
        pattern_id,
        pattern,
        category,
        description,
        cast(version as integer) as version,
        cast(valid_from as date) as valid_from
    from (
        values
        {%- for pattern_id, category, pattern, description in patterns %}
            (
                '{{ pattern_id }}',
                '{{ pattern | replace("'", "''") }}',
                '{{ category }}',
                '{{ description | replace("'", "''") }}',
                {{ version }},
                '{{ valid_from }}'
            ){{ "," if not loop.last }}
        {%- endfor %}
    ) as listed (
        pattern_id, pattern, category, description, version, valid_from
    )
) as incoming
    on
        target.pattern_id = incoming.pattern_id
        and target.version = incoming.version
when matched and (
    target.pattern != incoming.pattern
    or target.category != incoming.category
    or target.description != incoming.description
) then
    update
        set
            pattern = incoming.pattern,
            category = incoming.category,
            description = incoming.description
when not matched then insert (
    pattern_id, pattern, category, description, version, valid_from, valid_to
) values (
    incoming.pattern_id,
    incoming.pattern,
    incoming.category,
    incoming.description,
    incoming.version,
    incoming.valid_from,
    null
)

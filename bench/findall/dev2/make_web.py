#!/usr/bin/env python3
"""Write the dev-only FindAll corpus bench/findall/dev2/web/ from the page texts below.

dev2 was written after the first held-out look at bench/findall/web/, independently of it, in
other domains and phrasings, so that the engine can be tuned on more worlds without touching the
held-out part. Every world of dev2 is dev (run.py --set dev2 has no held-out part).

The page furniture (cookie banner, header, breadcrumbs, sidebar, footer) is bench/findall/make_web.py's
`page()`, imported; the main text of every page is written by hand here, together with the gold
sets of dev2/queries.json (write both together, deliberately).

    python3 bench/findall/dev2/make_web.py     # rewrites bench/findall/dev2/web/ (pages and sitemap.xml)
"""
import importlib.util
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, "web")

# bench/findall/make_web.py, for its page furniture only (its own PAGES are not written here).
_spec = importlib.util.spec_from_file_location("findall_make_web", os.path.join(HERE, "..", "make_web.py"))
base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(base)
page = base.page

PAGES = {}  # "<world>/<site>/<path>" -> html


def add(world, path, *args, **kwargs):
    assert world + "/" + path not in PAGES, path
    PAGES[world + "/" + path] = page(*args, **kwargs)


def u(world, path):
    return "/%s/%s" % (world, path)


# ============================================================================================
# d01: bakeries of Ashcombe (and Kelby, the next town up the valley)

W = "d01-ashcombe-bakeries"
BAKERIES = [(u(W, "crumb-and-hearth.example/index.html"), "Crumb & Hearth"),
            (u(W, "dorleys-bakery.example/about.html"), "Dorley's Bakery"),
            (u(W, "hallorans.example/faq.html"), "Halloran's Bakery"),
            (u(W, "marram-loaf.example/faq.html"), "Marram Loaf Co."),
            (u(W, "wheatsheaf-bakehouse.example/index.html"), "The Wheatsheaf Bakehouse")]

add(W, "ashcombe-eats.example/guides/bakeries.html", "Ashcombe Eats", "Where to buy bread in Ashcombe", """
<p>Our readers' guide to the independent bakeries of Ashcombe, updated every spring. Sunday hours change often, so check before you set out.</p>
<table class="directory">
<thead><tr><th>Bakery</th><th>Address</th><th>Sunday</th><th>Sourdough</th><th>Card payments</th></tr></thead>
<tbody>
<tr><td><a href="%s">Crumb &amp; Hearth</a></td><td>12 Ropewalk, Ashcombe</td><td>8:00&ndash;13:00</td><td>Yes</td><td>Yes</td></tr>
<tr><td><a href="%s">Dorley's Bakery</a></td><td>3 Market Hill, Ashcombe</td><td>Closed</td><td>Yes</td><td>Yes</td></tr>
<tr><td><a href="%s">Halloran's Bakery</a></td><td>40 Fore Street, Ashcombe</td><td>8:00&ndash;12:30</td><td>Yes</td><td>No</td></tr>
<tr><td><a href="%s">Marram Loaf Co.</a></td><td>7 Quay Row, Ashcombe</td><td>9:00&ndash;14:00</td><td>No</td><td>Yes</td></tr>
<tr><td>Pellin Street Bakery</td><td>22 Pellin Street, Ashcombe</td><td>7:30&ndash;12:00</td><td>Yes</td><td>Yes</td></tr>
</tbody></table>
<p>No longer listed: The Wheatsheaf Bakehouse, formerly of Tanner Lane, relocated to Kelby in 2021 and is now outside our area.</p>
""" % tuple(h for h, _ in BAKERIES[:4]), crumbs=["Home", "Guides", "Bakeries"],
    aside=[("Latest", [(u(W, "ashcombe-courier.example/news/2025-02-11-pellin-street.html"), "A new bakery for Pellin Street")])])

add(W, "crumb-and-hearth.example/index.html", "Crumb & Hearth", "Crumb & Hearth – bakers on the Ropewalk", """
<p>Crumb &amp; Hearth is a small bakery and coffee counter at 12 Ropewalk, Ashcombe, run by the Aske family since 2016.</p>
<p>Our sourdough is fermented for thirty-six hours and baked in a wood-fired oven every morning; we also make rye, spelt and a seeded tin loaf.</p>
<h2>Opening hours</h2>
<dl class="hours"><dt>Monday to Saturday</dt><dd>7:00&ndash;17:00</dd><dt>Sunday</dt><dd>8:00&ndash;13:00</dd></dl>
<p>Pre-orders for Sunday collection close at 4pm on Friday.</p>
""", aside=[("Other bakeries in town", BAKERIES[1:4])])

add(W, "dorleys-bakery.example/about.html", "Dorley's Bakery", "About Dorley's", """
<table class="infobox"><tr><th>Address</th><td>3 Market Hill, Ashcombe</td></tr>
<tr><th>Established</th><td>1931</td></tr>
<tr><th>Breads</th><td>Sourdough, cob, bloomer, granary</td></tr>
<tr><th>Hours</th><td>Tuesday&ndash;Saturday 6:30&ndash;16:00; closed on Sundays and Mondays</td></tr></table>
<p>Four generations of Dorleys have baked on Market Hill. The bakery still uses the brick oven installed by Albert Dorley in 1931,
and it is best known for its white sourdough and lardy cake.</p>
""", aside=[("Friends and neighbours", BAKERIES[:1] + BAKERIES[2:3])], crumbs=["Home", "About"])

add(W, "hallorans.example/faq.html", "Halloran's", "Frequently asked questions", """
<p>Halloran's Bakery, 40 Fore Street, Ashcombe. Answers to the questions we hear most at the counter.</p>
<h3>Are you open on Sundays?</h3>
<p>Yes. We open on Sundays from 8am until 12:30pm, or until the bread runs out.</p>
<h3>Is your bread sourdough?</h3>
<p>All our loaves are naturally leavened sourdough; we use no commercial yeast at all.</p>
<h3>Do you take cards?</h3>
<p>Not yet &ndash; cash only, sorry. There is a cash machine at the post office opposite.</p>
""", aside=[("Also on Fore Street", BAKERIES[:1])], crumbs=["Home", "FAQ"])

add(W, "marram-loaf.example/faq.html", "Marram Loaf Co.", "FAQ", """
<p>Marram Loaf Co. bakes on Quay Row, Ashcombe, and is open every day of the week, Sundays included (9am to 2pm).</p>
<h3>Do you still bake sourdough?</h3>
<p>No. We stopped baking sourdough in 2023 and no longer offer it; the bakery now concentrates on enriched doughs, brioche and pastries.</p>
<h3>Can I order a birthday cake?</h3>
<p>Yes, with five days' notice.</p>
""", aside=[("Elsewhere", BAKERIES[:2])], crumbs=["Home", "FAQ"])

add(W, "wheatsheaf-bakehouse.example/index.html", "The Wheatsheaf Bakehouse", "The Wheatsheaf Bakehouse", """
<p>After twelve years on Tanner Lane in Ashcombe, The Wheatsheaf Bakehouse moved in 2021 to a bigger bakehouse at 5 Mill Yard, Kelby.</p>
<p>We bake sourdough, baguettes and rye every day, and we are open seven days a week, Sundays 8&ndash;1.</p>
""", aside=[("Other bakers", BAKERIES[:1])])

add(W, "ashcombe-courier.example/news/2025-02-11-pellin-street.html", "The Ashcombe Courier", "A new bakery for Pellin Street", """
<p>The smell of bread is back on Pellin Street. Pellin Street Bakery started trading last week at number 22, in the shop that was a
launderette until last year.</p>
<p>Its owner, Nia Fenwick, trained at Crumb &amp; Hearth. The bakery bakes sourdough loaves and focaccia every morning, and it is open
seven days a week, including Sunday mornings from 7:30.</p>
<p>The opening leaves Ashcombe with five bakeries; Dorley's Bakery, the oldest, remains closed on Sundays.</p>
""", date="2025-02-11", crumbs=["Home", "News"], aside=[("Food and drink", BAKERIES[:2])])


# ============================================================================================
# d02: language schools of Marlin Cross (and Audley, across the river)

W = "d02-marlin-cross-language-schools"
SCHOOLS = [(u(W, "brightwater-languages.example/about.html"), "Brightwater Language Centre"),
           (u(W, "casa-lingua.example/courses.html"), "Casa Lingua"),
           (u(W, "kestwick-english.example/faq.html"), "Kestwick School of English"),
           (u(W, "lingoport.example/index.html"), "Lingoport Academy")]

add(W, "rals.example/members/marlin-cross.html", "Register of Accredited Language Schools", "Accredited schools: Marlin Cross and district", """
<p>Schools on this list have passed a RALS inspection of teaching, premises and student welfare within the last four years.</p>
<dl class="members">
<dt><a href="%s">Brightwater Language Centre</a></dt><dd>Marlin Cross. English, French, German and Spanish, all levels from A1.</dd>
<dt><a href="%s">Casa Lingua</a></dt><dd>Marlin Cross. Spanish, Italian and Portuguese.</dd>
<dt><a href="%s">Kestwick School of English</a></dt><dd>Marlin Cross. English for adults, intermediate and above.</dd>
<dt>Tamsin Reed Languages</dt><dd>Marlin Cross. Established 1989. French and German from complete beginner to advanced.</dd>
<dt><a href="%s">Lingoport Academy</a></dt><dd>Audley. English and Mandarin, all levels.</dd>
</dl>
""" % tuple(h for h, _ in SCHOOLS), crumbs=["Home", "Members", "Marlin Cross"])

add(W, "brightwater-languages.example/about.html", "Brightwater Language Centre", "About the centre", """
<table class="infobox">
<tr><th>Founded</th><td>1978</td></tr>
<tr><th>Address</th><td>9 Canal Terrace, Marlin Cross</td></tr>
<tr><th>Accreditation</th><td>RALS accredited</td></tr>
<tr><th>Levels</th><td>A1 (complete beginner) to C2</td></tr>
</table>
<p>Brightwater Language Centre began as an evening class in a church hall. Today the centre teaches around 900 adults a year
in four languages. It runs beginners' courses every term, and its teachers all hold a recognised teaching diploma.</p>
""", aside=[("Other schools", SCHOOLS[1:3])], crumbs=["Home", "About"])

add(W, "casa-lingua.example/courses.html", "Casa Lingua", "Courses 2025–26", """
<p>Casa Lingua is a school for Romance languages in the centre of Marlin Cross (14 Dyer Street). The school dates from 1992 and has
been RALS-accredited since 2015.</p>
<ul class="courses">
<li>Spanish for complete beginners (A1), Tuesday evenings</li>
<li>Italian for beginners (A1), Saturday mornings</li>
<li>Portuguese conversation (B1+)</li>
<li>DELE exam preparation</li>
</ul>
""", aside=[("Also accredited", SCHOOLS[:1])], crumbs=["Home", "Courses"])

add(W, "kestwick-english.example/faq.html", "Kestwick School of English", "FAQ", """
<p>The Kestwick School of English was established in 1965 on Abbey Road, Marlin Cross, and is accredited by RALS.</p>
<h3>I have never studied English. Can I join?</h3>
<p>Unfortunately not: the school no longer offers beginner courses. All our courses start at intermediate level (B1); we can
recommend another school for beginners.</p>
<h3>How big are the classes?</h3>
<p>Eight students at most.</p>
""", aside=[("For beginners, try", SCHOOLS[:2])], crumbs=["Home", "FAQ"])

add(W, "lingoport.example/index.html", "Lingoport Academy", "Lingoport Academy", """
<p>Lingoport Academy opened in Marlin Cross in 1985 and relocated to Audley, across the river, in 2021; our new address is
2 Ferry Road, Audley. We teach English and Mandarin at every level, beginners welcome, and we are a RALS-accredited school.</p>
""", aside=[("Partner schools", SCHOOLS[:1])])

add(W, "marlin-cross-echo.example/education/2024-09-02-language-schools.html", "The Marlin Cross Echo", "Back to school for grown-ups", """
<p>September is the busiest month for the city's language schools. We asked four of them what is new this year.</p>
<p>Polyglot Hub, the newest, opened on Weaver Street in Marlin Cross in 2019 and has added beginners' classes in Japanese and Korean.
The school is not accredited by RALS; its director said its application is still pending.</p>
<p>Tamsin Reed Languages, founded in 1989 by the translator Tamsin Reed, is still run from her house on Orchard Rise, Marlin Cross,
and starts new beginners' groups in French and German each January.</p>
<p>At the other end of town, the Kestwick School told us that its courses now start at intermediate level.</p>
""", date="2024-09-02", crumbs=["Home", "Education"], aside=[("Schools mentioned", SCHOOLS[:3])])


# ============================================================================================
# d03: coworking spaces of Tessford (and Hale Green)

W = "d03-tessford-coworking"
SPACES = [(u(W, "thefoundry-tessford.example/spaces.html"), "The Foundry Tessford"),
          (u(W, "loomworks.example/index.html"), "Loom Works"),
          (u(W, "hive-tessford.example/faq.html"), "Hive Tessford"),
          (u(W, "pebble-desk.example/pricing.html"), "Pebble Desk"),
          (u(W, "tessford-libraries.example/workspace.html"), "Tessford Library Workspace")]

add(W, "tessford-business.example/coworking-directory.html", "Tessford Business Network", "Coworking directory", """
<p>Shared workspaces in Tessford and Hale Green, as reported by the operators in March 2025. Prices include VAT.</p>
<table class="directory">
<thead><tr><th>Space</th><th>Area</th><th>Desks</th><th>Hours</th><th>Membership fee</th><th>Day pass</th></tr></thead>
<tbody>
<tr><td><a href="%s">The Foundry Tessford</a></td><td>Tessford</td><td>340</td><td>24/7</td><td>&pound;180 a month</td><td>&pound;25</td></tr>
<tr><td><a href="%s">Loom Works</a></td><td>Tessford</td><td>220</td><td>07:00&ndash;22:00</td><td>None</td><td>&pound;18</td></tr>
<tr><td><a href="%s">Hive Tessford</a></td><td>Tessford</td><td>199</td><td>24/7</td><td>&pound;20 a year</td><td>&pound;14.50</td></tr>
<tr><td>Quayside Commons</td><td>Tessford</td><td>260</td><td>24/7</td><td>&pound;150 a month</td><td>&ndash;</td></tr>
<tr><td><a href="%s">Pebble Desk</a></td><td>Tessford</td><td>40</td><td>08:00&ndash;18:00</td><td>None</td><td>&pound;12</td></tr>
<tr><td><a href="%s">Tessford Library Workspace</a></td><td>Tessford</td><td>60</td><td>09:00&ndash;19:00</td><td>None</td><td>&pound;6</td></tr>
<tr><td>Northlight Coworking</td><td>Hale Green</td><td>400</td><td>24/7</td><td>&pound;160 a month</td><td>&pound;22</td></tr>
</tbody></table>
""" % tuple(h for h, _ in SPACES), crumbs=["Home", "Directory", "Coworking"])

add(W, "thefoundry-tessford.example/spaces.html", "The Foundry", "Spaces and membership", """
<p>The Foundry Tessford fills all five floors of the former Pryce &amp; Sons iron foundry on Canal Street, Tessford: 340 desks,
24 meeting rooms and a roof terrace.</p>
<ul class="features">
<li>Open 24 hours a day, 7 days a week, with keycard access</li>
<li>Fixed and hot desks</li>
<li>Membership from &pound;180 per month; day passes &pound;25</li>
</ul>
""", aside=[("Other spaces", SPACES[1:3])], crumbs=["Home", "Spaces"])

add(W, "loomworks.example/index.html", "Loom Works", "Loom Works coworking", """
<p>Loom Works is a coworking space in a converted weaving shed on Shuttle Lane, Tessford, with room for 220 people.</p>
<ul class="features">
<li>No membership fee &ndash; just buy a day pass (&pound;18) when you need a desk</li>
<li>Open 7am to 10pm every day; the building is locked overnight</li>
<li>Caf&eacute; and phone booths</li>
</ul>
""", aside=[("Nearby", SPACES[:1] + SPACES[3:4])])

add(W, "hive-tessford.example/faq.html", "Hive Tessford", "Questions and answers", """
<p>Hive Tessford is a members' workspace at 1 Orchard Place, Tessford, with 199 desks over three floors.</p>
<h3>When can I come in?</h3>
<p>Any time: members have 24-hour access, every day of the year.</p>
<h3>Do I have to be a member?</h3>
<p>Yes. Everyone pays an annual membership fee of &pound;20, which covers insurance and your access card. On top of that,
a day pass costs &pound;14.50.</p>
""", aside=[("Compare", SPACES[:2])], crumbs=["Home", "FAQ"])

add(W, "pebble-desk.example/pricing.html", "Pebble Desk", "Pricing", """
<p>Pebble Desk is a quiet 40-desk room above the bookshop on Bell Street, Tessford, open 8am&ndash;6pm on weekdays.</p>
<p>There is no membership and no sign-up fee: pay as you go. A day pass costs &pound;12, a half day &pound;7.</p>
""", aside=[("Bigger spaces", SPACES[:1])], crumbs=["Home", "Pricing"])

add(W, "tessford-libraries.example/workspace.html", "Tessford Libraries", "Tessford Library Workspace", """
<p>The Tessford Library Workspace on the first floor of the Central Library, Tessford, offers 60 bookable desks with Wi-Fi and printing.</p>
<dl><dt>Who can use it?</dt><dd>Anyone; you do not need to be a library member and there is no membership fee.</dd>
<dt>Price</dt><dd>&pound;6 per day</dd><dt>Opening hours</dt><dd>9:00&ndash;19:00, Monday to Saturday</dd></dl>
""", aside=[("Other workspaces", SPACES[3:4])], crumbs=["Home", "Services", "Workspace"])

add(W, "tessford-times.example/business/2025-01-20-northlight.html", "Tessford Times", "Northlight opens 400 desks in Hale Green", """
<p>Northlight Coworking opened on Monday in the old sorting office in Hale Green, two miles south of Tessford, with 400 desks
open around the clock.</p>
<p>Its arrival puts pressure on the big spaces in town. Quayside Commons, on the Tessford waterfront, has 260 desks and is open
24 hours a day; the company said it would keep its &pound;150 monthly membership unchanged.</p>
""", date="2025-01-20", crumbs=["Home", "Business"], aside=[("Related", SPACES[:1])])


# ============================================================================================
# d04: community orchestras of Brennock (and Stowe Abbas)

W = "d04-brennock-orchestras"
ORCH = [(u(W, "brennock-phil.example/join.html"), "Brennock Philharmonic Society"),
        (u(W, "brennock-community-orchestra.example/about.html"), "Brennock Community Orchestra"),
        (u(W, "st-aldrics-sinfonia.example/index.html"), "St Aldric's Sinfonia"),
        (u(W, "stowe-abbas-orchestra.example/history.html"), "Stowe Abbas Orchestra")]

add(W, "brennock-arts.example/music/orchestras.html", "Brennock Arts Council", "Amateur orchestras", """
<p>Brennock has a lively amateur music scene. These orchestras rehearse in and around the city:</p>
<ul>
<li><a href="%s">Brennock Philharmonic Society</a> &ndash; symphonic repertoire, rehearses Mondays at the Guildhall.</li>
<li><a href="%s">Brennock Community Orchestra</a> &ndash; open to all, rehearses Wednesdays at Kingsmead School.</li>
<li><a href="%s">St Aldric's Sinfonia</a> &ndash; chamber orchestra, rehearses Thursdays at St Aldric's church.</li>
<li>Westgate Strings &ndash; string orchestra, rehearses Sunday afternoons at the Westgate Centre.</li>
<li><a href="%s">Stowe Abbas Orchestra</a> &ndash; in the village of Stowe Abbas, eight miles west of Brennock.</li>
</ul>
""" % tuple(h for h, _ in ORCH), crumbs=["Home", "Music", "Orchestras"])

add(W, "brennock-phil.example/join.html", "Brennock Philharmonic Society", "Joining the Phil", """
<p>The Brennock Philharmonic Society dates from 1952 and gives four concerts a season in the Brennock Guildhall.</p>
<p>New players join after an informal audition with the section leader, usually in September. Members pay an annual
subscription of &pound;120 (students &pound;40), which covers music hire and the hall.</p>
""", aside=[("Other orchestras", ORCH[1:3])], crumbs=["Home", "Join"])

add(W, "brennock-community-orchestra.example/about.html", "Brennock Community Orchestra", "About us", """
<p>The Brennock Community Orchestra has been playing in Brennock since 1979.</p>
<dl>
<dt>Auditions</dt><dd>There are no auditions: anyone who can play an orchestral instrument is welcome.</dd>
<dt>Membership</dt><dd>Membership is free. The orchestra is funded by concert tickets and a grant from the city.</dd>
<dt>Rehearsals</dt><dd>Wednesdays, 7.30pm, Kingsmead School hall, Brennock</dd>
</dl>
""", aside=[("Friends", ORCH[2:])], crumbs=["Home", "About"])

add(W, "st-aldrics-sinfonia.example/index.html", "St Aldric's Sinfonia", "St Aldric's Sinfonia", """
<p>St Aldric's Sinfonia is a chamber orchestra of about thirty players based at St Aldric's church, Brennock. It started in 1981
as the church's Easter orchestra and has given concerts ever since.</p>
<p>We do not hold auditions, and we do not charge a subscription: we pass a hat round at each concert instead.</p>
""", aside=[("Also in Brennock", ORCH[:2])])

add(W, "stowe-abbas-orchestra.example/history.html", "Stowe Abbas Orchestra", "Our history", """
<p>The Stowe Abbas Orchestra was founded in 1960 by the village schoolmaster and still rehearses in the Stowe Abbas village hall.</p>
<p>The orchestra welcomes players of every standard without audition, and playing with it is free of charge.</p>
""", aside=[("In the city", ORCH[:2])], crumbs=["Home", "History"])

add(W, "brennock-chronicle.example/arts/2024-10-03-westgate-strings.html", "The Brennock Chronicle", "Fifty years of Westgate Strings", """
<p>Westgate Strings, the string orchestra formed in 1974 by teachers at the Westgate music centre in Brennock, celebrates its fiftieth
season this month with a concert of Elgar and Holst.</p>
<p>The orchestra has never auditioned: players of all standards are welcome, its conductor said. Members pay an annual subscription of
&pound;60 towards the hire of the hall.</p>
""", date="2024-10-03", crumbs=["Home", "Arts"], aside=[("More music", ORCH[:2])])


# ============================================================================================
# d05: CSV libraries for the (invented) Ferro programming language

W = "d05-ferro-csv-libraries"
LIBS = [(u(W, "ferro-csv.example/index.html"), "ferro-csv"),
        (u(W, "quickcsv.example/changelog.html"), "quickcsv"),
        (u(W, "tabula-fe.example/docs/license.html"), "tabula-fe"),
        (u(W, "csvette.example/index.html"), "csvette")]

add(W, "ferro-packages.example/search/csv.html", "Ferro Package Index", "Search results for \"csv\"", """
<p>5 packages found for <code>csv</code>, sorted by downloads.</p>
<table class="results">
<thead><tr><th>Package</th><th>Latest</th><th>Released</th><th>Licence</th><th>Stars</th></tr></thead>
<tbody>
<tr><td><a href="%s">ferro-csv</a></td><td>2.4.1</td><td>2024-06-12</td><td>MIT</td><td>3,412</td></tr>
<tr><td><a href="%s">quickcsv</a></td><td>0.9.0</td><td>2024-02-28</td><td>Apache-2.0</td><td>1,870</td></tr>
<tr><td><a href="%s">tabula-fe</a></td><td>1.2.0</td><td>2024-10-07</td><td>GPL-3.0-only</td><td>2,104</td></tr>
<tr><td><a href="%s">csvette</a></td><td>0.4.2</td><td>2025-01-15</td><td>MIT</td><td>987</td></tr>
<tr><td>rowan-csv</td><td>1.0.3</td><td>2024-09-03</td><td>MIT OR Apache-2.0</td><td>1,205</td></tr>
</tbody></table>
""" % tuple(h for h, _ in LIBS), crumbs=["Packages", "Search"])

add(W, "ferro-csv.example/index.html", "ferro-csv", "ferro-csv: fast CSV for Ferro", """
<p>ferro-csv reads and writes CSV and TSV files with zero-copy parsing and optional schema checks.</p>
<dl class="meta"><dt>Latest release</dt><dd>2.4.1, 12 June 2024</dd><dt>Licence</dt><dd>MIT</dd>
<dt>Stars</dt><dd>3.4k (3,412)</dd><dt>Status</dt><dd>actively maintained</dd></dl>
<pre><code>import csv from "ferro-csv"
for row in csv.read("data.csv") { print(row) }</code></pre>
""", aside=[("Alternatives", LIBS[1:3])])

add(W, "quickcsv.example/changelog.html", "quickcsv", "Changelog", """
<p>All notable changes to quickcsv are listed here. quickcsv is licensed under the Apache License, Version 2.0.</p>
<h2>0.9.0 &ndash; February 28, 2024</h2>
<ul><li>Streaming reader for files larger than memory</li><li>Dropped support for Ferro 1.x</li></ul>
<h2>0.8.2 &ndash; November 2, 2023</h2>
<ul><li>Fixed quoting of embedded newlines</li></ul>
<p>Development has moved to a new major version; there has been no release since 0.9.0.</p>
""", aside=[("See also", LIBS[:1])], crumbs=["Docs", "Changelog"])

add(W, "tabula-fe.example/docs/license.html", "tabula-fe", "Licence", """
<p>tabula-fe is free software: you can redistribute it and/or modify it under the terms of the GNU General Public License,
version 3 only (GPL-3.0-only). It is not available under a permissive licence.</p>
<p>Version 1.2.0, released on 7 October 2024, added Excel-dialect CSV and typed columns. The project has 2,104 stars.</p>
""", aside=[("Permissively licensed alternatives", [LIBS[0], LIBS[3]])], crumbs=["Docs", "Licence"])

add(W, "csvette.example/index.html", "csvette", "csvette", """
<p>csvette is a tiny, dependency-free CSV parser for Ferro, small enough for embedded targets.</p>
<ul class="badges"><li>licence: MIT</li><li>version 0.4.2 (released 15 January 2025)</li><li>987 stars</li></ul>
<p>It parses RFC 4180 files and nothing more; if you need dialects, use ferro-csv.</p>
""", aside=[("Bigger libraries", LIBS[:2])])

add(W, "ferro-weekly.example/2024/09/csv-roundup.html", "Ferro Weekly", "Reading CSV in Ferro, autumn 2024", """
<p>Five libraries now parse CSV in Ferro. The newest, rowan-csv (also written Rowan CSV), reached 1.0 this summer, and version 1.0.3
came out on 3 September 2024. It is dual-licensed under MIT or Apache-2.0 and has passed 1,200 stars on its code host (1,205 today).</p>
<p>ferro-csv remains the default choice. quickcsv has not seen a release since the end of February, and tabula-fe is the one to
pick only if the GPL suits you. csvette is still just short of a thousand stars.</p>
""", date="2024-09-20", crumbs=["Home", "2024", "September"], aside=[("Libraries", LIBS)])


# ============================================================================================
# d06: marinas of Port Elsey (and Saltern, along the creek)

W = "d06-port-elsey-marinas"
MARINAS = [(u(W, "elsey-quays.example/index.html"), "Elsey Quays Marina"),
           (u(W, "harbour-reach.example/berthing.html"), "Harbour Reach Marina"),
           (u(W, "saltern-creek.example/about.html"), "Saltern Creek Marina"),
           (u(W, "lantern-point.example/news/2022-05-scma.html"), "Lantern Point Marina")]

add(W, "scma.example/members.html", "South Coast Marinas Association", "Member marinas", """
<p>The South Coast Marinas Association (SCMA) represents marina operators between Port Elsey and Saltern. Current members:</p>
<table><thead><tr><th>Marina</th><th>Location</th><th>Berths</th><th>Member since</th></tr></thead><tbody>
<tr><td><a href="%s">Elsey Quays Marina Ltd</a></td><td>Port Elsey</td><td>410</td><td>1994</td></tr>
<tr><td><a href="%s">Harbour Reach Marina</a></td><td>Port Elsey</td><td>180</td><td>2003</td></tr>
<tr><td>Port Elsey Yacht Haven</td><td>Port Elsey</td><td>215</td><td>2011</td></tr>
<tr><td><a href="%s">Saltern Creek Marina</a></td><td>Saltern</td><td>300</td><td>1998</td></tr>
</tbody></table>
""" % tuple(h for h, _ in MARINAS[:3]), crumbs=["Home", "Members"])

add(W, "elsey-quays.example/index.html", "Elsey Quays Marina", "Welcome to Elsey Quays", """
<table class="infobox"><tr><th>Location</th><td>East Quay, Port Elsey</td></tr><tr><th>Berths</th><td>410 (including 60 visitor berths)</td></tr>
<tr><th>Fuel</th><td>Diesel and petrol, 24 hours</td></tr><tr><th>Memberships</th><td>South Coast Marinas Association</td></tr></table>
<p>Elsey Quays is the largest marina in Port Elsey. It has a boatyard with a 75-tonne hoist and a chandlery on site.</p>
""", aside=[("Other marinas", MARINAS[1:3])])

add(W, "harbour-reach.example/berthing.html", "Harbour Reach Marina", "Berthing", """
<p>Harbour Reach Marina, on the inner harbour of Port Elsey, has 180 pontoon berths for boats up to 18 metres.</p>
<p>We are proud members of the South Coast Marinas Association.</p>
""", aside=[("Neighbours", MARINAS[:1])], crumbs=["Home", "Berthing"])

add(W, "saltern-creek.example/about.html", "Saltern Creek Marina", "About", """
<p>Saltern Creek Marina lies in the village of Saltern, four miles up the creek from Port Elsey. Its 300 berths are sheltered
from every wind, and it has been an SCMA member since 1998.</p>
""", aside=[("Down the creek", MARINAS[:2])], crumbs=["Home", "About"])

add(W, "lantern-point.example/news/2022-05-scma.html", "Lantern Point Marina", "Press release: Lantern Point leaves the SCMA", """
<p><strong>Port Elsey, 4 May 2022.</strong> Lantern Point Marina announced today that it has left the South Coast Marinas Association
after twenty years of membership, and is no longer a member.</p>
<p>The marina, at the western end of Port Elsey harbour, has 240 berths and will now market them on its own.</p>
""", date="2022-05-04", crumbs=["Home", "News"], aside=[("Other marinas", MARINAS[:1])])

add(W, "port-elsey-observer.example/news/2025-04-07-marinas.html", "The Port Elsey Observer", "Berth prices rise again", """
<p>Annual berth fees are up by around six per cent this year at the marinas of Port Elsey.</p>
<p>The increase is smallest at Port Elsey Yacht Haven, the 215-berth marina by the old lifeboat slip, which said it would hold prices for
SCMA members' customers. The haven joined the association in 2011.</p>
<p>Lantern Point Marina, which left the SCMA in 2022, raised its fees by nine per cent.</p>
""", date="2025-04-07", crumbs=["Home", "News"], aside=[("Marinas", MARINAS)])


# ============================================================================================
# d07: mountain huts of the Skarn range (and the Vellor massif to the east)

W = "d07-skarn-huts"
HUTS = [(u(W, "gravlin-hut.example/index.html"), "Gravlin Hut"),
        (u(W, "kessel-hut.example/faq.html"), "Kessel Hut"),
        (u(W, "oster-refuge.example/prices.html"), "Oster Refuge"),
        (u(W, "tarnbrook-hut.example/news/2025-closure.html"), "Tarnbrook Hut")]

add(W, "skarn-alpine-club.example/huts.html", "Skarn Alpine Club", "Our huts", """
<p>The club looks after five huts in the Skarn range. Prices are per person per night for non-members, breakfast not included.</p>
<dl class="huts">
<dt><a href="%s">Gravlin Hut</a> (1,840 m)</dt><dd>42 beds. &euro;34. Staffed all year round.</dd>
<dt><a href="%s">Kessel Hut</a> (2,210 m)</dt><dd>30 beds. &euro;38. Staffed from June to September.</dd>
<dt><a href="%s">Oster Refuge</a> (2,050 m)</dt><dd>56 beds. &euro;42. Staffed all year round.</dd>
<dt>Rimeside Hut (1,620 m)</dt><dd>24 beds. &euro;31. Staffed December to April and June to September.</dd>
<dt><a href="%s">Tarnbrook Hut</a> (1,990 m)</dt><dd>Closed for rebuilding.</dd>
</dl>
""" % tuple(h for h, _ in HUTS), crumbs=["Home", "Huts"])

add(W, "gravlin-hut.example/index.html", "Gravlin Hut", "Gravlin Hut, 1,840 m", """
<table class="infobox"><tr><th>Range</th><td>Skarn</td></tr><tr><th>Beds</th><td>42</td></tr>
<tr><th>Price</th><td>34 EUR per night (members 22 EUR)</td></tr><tr><th>Season</th><td>Open all year, including winter</td></tr></table>
<p>The hut stands on the col above Gravlin lake and is reached in three hours from the valley. In winter it is a popular base for ski touring.</p>
""", aside=[("Neighbouring huts", HUTS[1:3])])

add(W, "kessel-hut.example/faq.html", "Kessel Hut", "Before you come", """
<p>The Kessel Hut is the highest hut of the Skarn range. A night in the dormitory costs EUR 38.00.</p>
<h3>Is the hut open in winter?</h3>
<p>No. The hut is closed from October to May; in winter the access path is exposed to avalanches.</p>
""", aside=[("Open in winter", HUTS[:1])], crumbs=["Home", "FAQ"])

add(W, "oster-refuge.example/prices.html", "Oster Refuge", "Prices 2025", """
<p>Oster Refuge, Skarn range, is open throughout the year, winter included.</p>
<table><thead><tr><th></th><th>Members</th><th>Non-members</th></tr></thead>
<tbody><tr><th>Dormitory</th><td>&euro;28</td><td>&euro;42</td></tr><tr><th>Half board</th><td>&euro;58</td><td>&euro;72</td></tr></tbody></table>
""", aside=[("Cheaper huts", HUTS[:1])], crumbs=["Home", "Prices"])

add(W, "tarnbrook-hut.example/news/2025-closure.html", "Tarnbrook Hut", "Closed in 2025", """
<p>Tarnbrook Hut (Skarn range) is temporarily closed throughout 2025, winter included, while the old hut is demolished and rebuilt.
The new hut is due to open in summer 2026; until then there are no beds. Before the closure a night cost &euro;36.</p>
""", date="2025-01-08", crumbs=["Home", "News"], aside=[("Open huts nearby", HUTS[:1])])

add(W, "hillwalker-blog.example/2025/02/winter-traverse.html", "Hillwalker's Notebook", "A winter traverse, hut to hut", """
<p>Last month I crossed the Skarn range on skis, three nights, three huts.</p>
<p>The first night was at Rimeside Hut, a cosy place in the Skarn range that is staffed in winter and charged me just &euro;31 for a bunk.
The second was at the Gravlin Hut, open in winter like Rimeside.</p>
<p>For the last night I left the Skarn and stayed at the Vellor Hut, across the pass in the Vellor massif: open all year, &euro;30 a night.</p>
""", date="2025-02-15", crumbs=["Home", "2025", "February"], aside=[("Huts", HUTS[:2])])


# ============================================================================================
# d08: bookshops of Lowther (and Fenby)

W = "d08-lowther-bookshops"
SHOPS = [(u(W, "inkpot-books.example/about.html"), "Inkpot Books"),
         (u(W, "page-and-quire.example/faq.html"), "Page & Quire"),
         (u(W, "chapters-books.example/branches/lowther.html"), "Chapters Lowther"),
         (u(W, "lantern-bookshop.example/index.html"), "The Lantern Bookshop")]

add(W, "lowther-guide.example/shopping/bookshops.html", "Lowther Town Guide", "Bookshops", """
<p>Book lovers are spoilt in Lowther. Here are the town's bookshops:</p>
<ul>
<li><a href="%s">Inkpot Books</a>, 8 Castle Street &ndash; new and second-hand</li>
<li><a href="%s">Page &amp; Quire</a>, 21 High Street &ndash; new books, children's corner</li>
<li><a href="%s">Chapters</a>, Lowther Shopping Centre</li>
<li>Mossgate Books, 3 Mossgate &ndash; see our news story</li>
</ul>
<p>The Lantern Bookshop, formerly on Church Lane, is now in Fenby.</p>
""" % tuple(h for h, _ in SHOPS[:3]), crumbs=["Home", "Shopping", "Bookshops"],
    aside=[("News", [(u(W, "lowther-mercury.example/news/2024-11-mossgate.html"), "Mossgate Books turns the page")])])

add(W, "inkpot-books.example/about.html", "Inkpot Books", "About the shop", """
<p>Inkpot Books (The Inkpot Bookshop to its regulars) is an independent bookshop at 8 Castle Street, Lowther, owned and run by
Ruth and Daniel Ames.</p>
<p>The shop sells new books on the ground floor and second-hand and antiquarian books upstairs.</p>
<p>Opening hours: Monday to Saturday, 9.30 to 5.30. We are closed on Sundays.</p>
""", aside=[("Other bookshops", SHOPS[1:2])], crumbs=["Home", "About"])

add(W, "page-and-quire.example/faq.html", "Page & Quire", "FAQ", """
<p>Page &amp; Quire is Lowther's independent bookshop on the High Street, owned by its staff since 2018.</p>
<h3>Do you buy or sell second-hand books?</h3>
<p>No, we sell only new books. For second-hand books try Inkpot Books on Castle Street.</p>
<h3>When are you open?</h3>
<p>Every day, Sundays included (11 to 4).</p>
""", aside=[("Friends", SHOPS[:1])], crumbs=["Home", "FAQ"])

add(W, "chapters-books.example/branches/lowther.html", "Chapters", "Chapters Lowther", """
<p>Chapters Lowther is one of the 48 branches of Chapters, the national bookshop chain. You will find it on the upper floor of the
Lowther Shopping Centre.</p>
<ul><li>Open seven days a week (Sunday 10&ndash;4)</li><li>Pre-loved books section: second-hand paperbacks from &pound;2</li><li>Click and collect</li></ul>
""", aside=[("Nearby branches", [(u(W, "chapters-books.example/branches/lowther.html"), "Chapters Lowther")])], crumbs=["Home", "Branches", "Lowther"])

add(W, "lantern-bookshop.example/index.html", "The Lantern Bookshop", "The Lantern Bookshop", """
<p>The Lantern Bookshop is an independent shop for new and second-hand books. After eighteen years on Church Lane in Lowther we relocated
to Fenby in 2021; find us at 14 Market Place, Fenby.</p>
<p>Open Tuesday to Sunday, 10 to 5.</p>
""", aside=[("Lowther bookshops", SHOPS[:2])])

add(W, "lowther-mercury.example/news/2024-11-mossgate.html", "The Lowther Mercury", "Mossgate Books turns the page", """
<p>Mossgate Books Ltd, the independent second-hand bookshop at 3 Mossgate, Lowther, marked its tenth birthday on Saturday with a
sale of 10,000 books.</p>
<p>Owner Peter Hale, who opened the shop in 2014, said it would keep its hours of Monday to Saturday, 10 to 6. "We stay closed on
Sundays; that is when I go to the auctions," he said.</p>
""", date="2024-11-18", crumbs=["Home", "News"], aside=[("Shops", SHOPS[:2])])


# ============================================================================================
# d09: wineries of the Vallen valley (and the Corbel valley over the ridge)

W = "d09-vallen-wineries"
WINES = [(u(W, "domaine-orsel.example/index.html"), "Domaine Orsel"),
         (u(W, "haller-estate.example/vineyard.html"), "Haller Estate"),
         (u(W, "castell-brun.example/about.html"), "Castell Brun"),
         (u(W, "mireval-cellars.example/index.html"), "Mireval Cellars")]

add(W, "vallen-wine-guide.example/2025/wineries.html", "The Vallen Wine Guide", "Wineries rated in 2025", """
<p>Our inspectors visited every winery open to the public in the Vallen and Corbel valleys. Ratings are out of five stars.</p>
<table><thead><tr><th>Winery</th><th>Valley</th><th>Rating</th><th>Organic (certified)</th></tr></thead><tbody>
<tr><td><a href="%s">Domaine Orsel</a></td><td>Vallen</td><td>4/5</td><td>Yes</td></tr>
<tr><td><a href="%s">Haller Estate</a></td><td>Vallen</td><td>3/5</td><td>In conversion</td></tr>
<tr><td><a href="%s">Castell Brun</a></td><td>Vallen</td><td>2/5</td><td>Yes</td></tr>
<tr><td>Clos Sarrant</td><td>Vallen</td><td>3/5</td><td>Yes</td></tr>
<tr><td><a href="%s">Mireval Cellars</a></td><td>Corbel</td><td>5/5</td><td>Yes</td></tr>
</tbody></table>
""" % tuple(h for h, _ in WINES), crumbs=["Home", "2025", "Wineries"])

add(W, "domaine-orsel.example/index.html", "Domaine Orsel", "Domaine Orsel", """
<p>Domaine Orsel grows Riesling and Pinot Noir on the south-facing slopes above Vallen village.</p>
<p>The estate has been certified organic since 2012, and the Vallen Wine Guide awarded it four stars this year.</p>
""", aside=[("Neighbours", WINES[1:3])])

add(W, "haller-estate.example/vineyard.html", "Haller Estate", "The vineyard", """
<p>Haller Estate farms 14 hectares in the Vallen valley. The Vallen Wine Guide gives us three stars.</p>
<p>We stopped using synthetic sprays in 2023 and are in conversion to organic farming; certification is expected in 2026, so our
wines cannot yet be labelled organic.</p>
""", aside=[("Other wineries", WINES[:1])], crumbs=["Home", "Vineyard"])

add(W, "castell-brun.example/about.html", "Castell Brun", "About Castell Brun", """
<p>Castell Brun is a family winery in the Vallen valley, certified organic since 2009. The Vallen Wine Guide rates it two stars.</p>
""", aside=[("Friends", WINES[:1])], crumbs=["Home", "About"])

add(W, "mireval-cellars.example/index.html", "Mireval Cellars", "Mireval Cellars", """
<p>Mireval Cellars lies in the Corbel valley, over the ridge from Vallen. Our vineyards are certified organic and the Vallen Wine Guide
gives us its top rating of five stars.</p>
""", aside=[("Across the ridge", WINES[:2])])

add(W, "vallen-valley-tourism.example/press/2025-03-organic.html", "Vallen Valley Tourism", "Press release: the organic wine trail", """
<p><strong>Vallen, 12 March 2025.</strong> Vallen Valley Tourism today launches the Organic Wine Trail, linking the valley's certified
organic wineries by footpath.</p>
<p>The trail starts at Domaine Orsel and ends at Clos Sarrant, the small estate by the Vallen bridge. Clos Sarrant has been certified
organic since 2016 and holds three stars in the Vallen Wine Guide. Castell Brun is also on the trail.</p>
""", date="2025-03-12", crumbs=["Home", "Press"], aside=[("Wineries", WINES[:3])])


# --------------------------------------------------------------------------------------------

SITEMAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Parallax FindAll dev2 corpus (bench/findall/dev2/web), written by bench/findall/dev2/make_web.py. FIXTURE_HOST is a
     placeholder for the loopback address bench/findall/run.py --set dev2 serves this folder on. -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
"""


def main():
    for d in os.listdir(WEB) if os.path.isdir(WEB) else []:
        if d.startswith("d") and os.path.isdir(os.path.join(WEB, d)):
            shutil.rmtree(os.path.join(WEB, d))
    os.makedirs(WEB, exist_ok=True)
    for rel, text in sorted(PAGES.items()):
        path = os.path.join(WEB, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    with open(os.path.join(WEB, "sitemap.xml"), "w", encoding="utf-8") as f:
        f.write(SITEMAP_HEAD + "".join("  <url><loc>http://FIXTURE_HOST/%s</loc></url>\n" % r for r in sorted(PAGES)) + "</urlset>\n")
    print("wrote %d pages in %d worlds to %s" % (len(PAGES), len({r.split('/')[0] for r in PAGES}), WEB))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the FindAll evaluation corpus, bench/findall/web/, from the page texts below.

Each world is an invented place with its own invented sites; every page is a full HTML document
whose page furniture (cookie banner, header and navigation, breadcrumbs, sidebar, footer) is
generated here, while the main text of every page is written out by hand in this file, together
with the gold sets of bench/findall/queries.json (write both together, deliberately).

    python3 bench/findall/make_web.py        # rewrites bench/findall/web/ (pages and sitemap.xml)

Links between pages are root-relative ("/<world>/<site>/<page>"), as the corpus is served at the
root of a loopback port; FIXTURE_HOST in sitemap.xml stands for that host:port. A page whose path
ends in "/" is written as that folder's index.html and listed in the sitemap with the slash.
"""
import hashlib
import html
import os
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
WEB = os.path.join(HERE, "web")

COOKIE_TEXTS = [
    "We use cookies to make this site work and to understand how it is used. <a href=\"#privacy\">Cookie policy</a> <button>Accept all</button> <button>Reject non-essential</button>",
    "This website stores small files on your device to remember your preferences and to count visits. <button>OK</button> <button>Settings</button>",
    "Your privacy matters. We and our partners use cookies for analytics and personalised content. <button>Agree</button> <button>Manage choices</button>",
]
NAVS = [
    ["Home", "About", "News", "Contact"],
    ["Start", "What we do", "Visit", "Blog", "Get in touch"],
    ["Home", "Directory", "Events", "Guides", "Subscribe"],
]


def pick(site, options):
    return options[int(hashlib.md5(site.encode()).hexdigest(), 16) % len(options)]


def page(site_name, title, body, aside=(), lang="en-GB", date=None, crumbs=None, description=None):
    """A full HTML document. `body` is the hand-written main text (HTML); `aside` a list of
    (heading, [(href, text), ...]) sidebar sections; `date` an ISO date for a byline."""
    nav = " | ".join('<a href="#%s">%s</a>' % (n.lower().replace(" ", "-"), n) for n in pick(site_name, NAVS))
    crumbs = crumbs or ["Home", title]
    crumb_html = " &rsaquo; ".join('<a href="#">%s</a>' % html.escape(c) for c in crumbs[:-1]) + \
        " &rsaquo; <span>%s</span>" % html.escape(crumbs[-1])
    byline = '<p class="byline"><time datetime="%s">%s</time></p>\n' % (date, date) if date else ""
    side = ""
    for heading, links in aside:
        items = "\n".join('      <li><a href="%s">%s</a></li>' % (h, html.escape(t)) for h, t in links)
        side += '  <section class="related"><h3>%s</h3>\n    <ul>\n%s\n    </ul></section>\n' % (html.escape(heading), items)
    side += '  <section class="newsletter"><h3>Newsletter</h3><form><input type="email" placeholder="Your email"><button>Sign up</button></form></section>\n'
    return """<!DOCTYPE html>
<html lang="%(lang)s">
<head>
<meta charset="utf-8">
<title>%(title)s - %(site)s</title>
<meta name="description" content="%(desc)s">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta property="og:site_name" content="%(site)s">
<style>body{font-family:Georgia,serif;max-width:1100px;margin:auto}.cookie{background:#eef;padding:8px}.layout{display:grid;grid-template-columns:3fr 1fr;gap:20px}table{border-collapse:collapse}td,th{border:1px solid #bbb;padding:3px 6px}</style>
</head>
<body>
<div id="cookie-consent" class="cookie cookie-banner" role="dialog"><p>%(cookie)s</p></div>
<header class="site-header">
  <p class="logo"><a href="#home">%(site)s</a></p>
  <nav class="main-nav" aria-label="Main">%(nav)s <form class="search"><input type="search" placeholder="Search"></form></nav>
</header>
<div class="layout">
<main id="content">
<nav class="breadcrumbs" aria-label="Breadcrumb">%(crumbs)s</nav>
<h1>%(title)s</h1>
%(byline)s<div class="article-body">
%(body)s
</div>
<div class="share">Share: <a href="#mail">Email</a> <a href="#copy">Copy link</a></div>
</main>
<aside class="sidebar">
%(side)s</aside>
</div>
<footer class="site-footer">
  <nav><a href="#about">About us</a> &middot; <a href="#accessibility">Accessibility</a> &middot; <a href="#privacy">Privacy</a> &middot; <a href="#terms">Terms</a></nav>
  <p>&copy; 2025 %(site)s. All rights reserved.</p>
</footer>
</body>
</html>
""" % {"lang": lang, "title": html.escape(title), "site": html.escape(site_name), "desc": html.escape(description or title),
       "cookie": pick(site_name, COOKIE_TEXTS), "nav": nav, "crumbs": crumb_html, "byline": byline,
       "body": body.strip(), "side": side}


PAGES = {}  # "<world>/<site>/<path>" -> html


def add(world, path, *args, **kwargs):
    PAGES[world + "/" + path] = page(*args, **kwargs)


def u(world, path):
    """A root-relative link to a page of a world."""
    return "/%s/%s" % (world, path)


# ============================================================================================
# w01: dental practices of Quillmere (and Brinkhollow, the village next door)

W = "w01-quillmere-dental"
OTHER_DENTISTS = [(u(W, "harbourside-dental.example/index.html"), "Harbourside Dental Practice"),
                  (u(W, "millrace-dental.example/about.html"), "Millrace Dental Studio"),
                  (u(W, "tolley-street-dental.example/index.html"), "Tolley Street Dental"),
                  (u(W, "brinkhollow-dental.example/index.html"), "Brinkhollow Dental Care")]

add(W, "quillmere-council.example/health/dentists.html", "Quillmere Town Council", "Dental practices in Quillmere and Brinkhollow", """
<p>This page lists the dental practices in the Quillmere council area, including the village of Brinkhollow.
We ask every practice twice a year whether it is taking on new patients; the answers below were given in April 2025.
Please contact the practice directly before you visit.</p>
<table class="data">
<caption>Dental practices, April 2025</caption>
<thead><tr><th>Practice</th><th>Address</th><th>Town</th><th>New patients</th></tr></thead>
<tbody>
<tr><td><a href="%s">Harbourside Dental Practice</a></td><td>4 Wharf Street</td><td>Quillmere</td><td>Yes</td></tr>
<tr><td><a href="%s">Millrace Dental Studio</a></td><td>17 Millrace Lane</td><td>Quillmere</td><td>Yes</td></tr>
<tr><td><a href="%s">Tolley Street Dental</a></td><td>2 Tolley Street</td><td>Quillmere</td><td>No</td></tr>
<tr><td>Aldous Row Dental Surgery</td><td>9 Aldous Row</td><td>Quillmere</td><td>No</td></tr>
<tr><td><a href="%s">Brinkhollow Dental Care</a></td><td>31 Green End</td><td>Brinkhollow</td><td>Yes</td></tr>
<tr><td>Ferncastle Dental Ltd</td><td>6 Quay Lane</td><td>Quillmere</td><td>Yes</td></tr>
</tbody></table>
<p>Emergency dental care outside surgery hours is available through the regional dental helpline.</p>
""" % (u(W, "harbourside-dental.example/index.html"), u(W, "millrace-dental.example/about.html"),
       u(W, "tolley-street-dental.example/index.html"), u(W, "brinkhollow-dental.example/index.html")),
    aside=[("Health and care", [(u(W, "quillmere-gazette.example/news/2025-03-18-new-dentist.html"), "New dentist opens on Quay Lane")])],
    crumbs=["Home", "Health", "Dentists"])

add(W, "harbourside-dental.example/index.html", "Harbourside Dental Practice", "Harbourside Dental Practice", """
<p>Family dentistry on the harbour since 1996. You will find us at 4 Wharf Street, Quillmere, opposite the lifeboat station,
with step-free access and parking on the quay.</p>
<h2>Joining the practice</h2>
<p>Good news: we are welcoming new patients of all ages, both NHS and private. Ring reception or fill in our online form
and we will offer you a first check-up within three weeks.</p>
<h2>Treatments</h2>
<ul><li>Check-ups and hygiene visits</li><li>White fillings, crowns and bridges</li><li>Children's dentistry</li><li>Teeth whitening</li></ul>
<p>We do not offer treatment under sedation; nervous patients who need it are referred to the hospital dental service.</p>
""", aside=[("Other clinics nearby", OTHER_DENTISTS[1:])])

add(W, "millrace-dental.example/about.html", "Millrace Dental Studio", "About Millrace Dental Studio", """
<table class="infobox"><tr><th>Address</th><td>17 Millrace Lane, Quillmere</td></tr>
<tr><th>Opened</th><td>2011</td></tr><tr><th>New patients</th><td>Accepting</td></tr></table>
<p>The studio occupies the ground floor of the old corn mill on Millrace Lane in Quillmere. Three dentists and two hygienists
look after about four thousand patients.</p>
<p>Are you taking on patients? Yes &mdash; we are currently accepting new patients, private and dental-plan members alike.
Evening appointments are available on Tuesdays and Thursdays.</p>
<p>Our dentists do not provide sedation.</p>
""", aside=[("Other clinics", [OTHER_DENTISTS[0], OTHER_DENTISTS[2]])], crumbs=["Home", "About"])

add(W, "tolley-street-dental.example/index.html", "Tolley Street Dental", "Tolley Street Dental, Quillmere", """
<p>Welcome to Tolley Street Dental, 2 Tolley Street, Quillmere, a small practice with two surgeries above the pharmacy.</p>
<p class="notice"><strong>Please note:</strong> our list is full and we are not currently accepting new patients.
Existing patients can book as usual. We will announce here when places become available.</p>
<p>We offer treatment under intravenous sedation for anxious patients, on Wednesday afternoons.</p>
""", aside=[("Other practices", [OTHER_DENTISTS[0], OTHER_DENTISTS[3]])])

add(W, "brinkhollow-dental.example/index.html", "Brinkhollow Dental Care", "Brinkhollow Dental Care", """
<p>Brinkhollow Dental Care is the village practice of Brinkhollow, at 31 Green End, three miles east of Quillmere on the B2240.
Many of our patients come from Quillmere and the farms around it.</p>
<p>We are accepting new patients; most new patients are seen within a fortnight.</p>
<p>Sedation is available for nervous patients, and we have a hygienist every weekday.</p>
""", aside=[("Dentists in Quillmere", OTHER_DENTISTS[:3])])

add(W, "quillmere-gazette.example/news/2025-03-18-new-dentist.html", "The Quillmere Gazette", "New dentist opens on Quay Lane", """
<p>Quillmere has a new dental practice. Ferncastle Dental opened its doors at 6 Quay Lane, Quillmere, on Monday, in the former
chandlery next to the ferry office.</p>
<p>Practice manager Orla Penhallow said the practice is accepting new patients now, with or without a referral, and already
has more than two hundred people on its books. "People have been travelling to Brinkhollow for a check-up," she said.</p>
<p>The opening comes as Aldous Row Dental Surgery, on the other side of town, remains closed to new patients, as it has been since January.
Tolley Street Dental is also not taking new patients. Ferncastle Dental does not offer sedation at present.</p>
""", date="2025-03-18", crumbs=["Home", "News", "Health"], aside=[("Most read", [(u(W, "quillmere-council.example/health/dentists.html"), "Find a dentist")])])


# ============================================================================================
# w02: robotics companies of Orvane (and Pellam, its neighbour)

W = "w02-orvane-robotics"
ROBOTICS = [(u(W, "kestrel-motion.example/company.html"), "Kestrel Motion GmbH"),
            (u(W, "tandem-arc.example/about.html"), "Tandem Arc Robotics"),
            (u(W, "lumen-gripworks.example/index.html"), "Lumen Gripworks"),
            (u(W, "soryx.example/about-us.html"), "Soryx Automation")]

add(W, "orvane-tech-cluster.example/members/robotics.html", "Orvane Technology Cluster", "Robotics members", """
<p>The robotics group of the Orvane Technology Cluster brings together companies that design or build robots, grippers and motion
control in and around Orvane. Figures are as reported by the members in January 2025.</p>
<table class="members">
<thead><tr><th>Company</th><th>Founded</th><th>Employees</th><th>Headquarters</th></tr></thead>
<tbody>
<tr><td><a href="%s">Kestrel Motion GmbH</a></td><td>2017</td><td>120</td><td>Orvane</td></tr>
<tr><td><a href="%s">Tandem Arc Robotics</a></td><td>2014</td><td>80</td><td>Orvane</td></tr>
<tr><td><a href="%s">Lumen Gripworks</a></td><td>2019</td><td>45</td><td>Orvane</td></tr>
<tr><td><a href="%s">Soryx Automation</a></td><td>2018</td><td>230</td><td>Pellam</td></tr>
<tr><td>Brisk Joint Systems</td><td>2020</td><td>64</td><td>Orvane</td></tr>
</tbody></table>
<p>Membership is open to any robotics company with an office in the Orvane region. Ask about joining at the cluster office.</p>
""" % tuple(h for h, _ in ROBOTICS), crumbs=["Home", "Members", "Robotics"],
    aside=[("Cluster news", [(u(W, "orvane-business-journal.example/2025/02/verity-autonomics.html"), "Verity Autonomics doubles its team")])])

add(W, "kestrel-motion.example/company.html", "Kestrel Motion", "Kestrel Motion GmbH", """
<table class="infobox"><tr><th>Founded</th><td>2017</td></tr><tr><th>Headquarters</th><td>Foundry Quay, Orvane</td></tr>
<tr><th>Employees</th><td>120</td></tr><tr><th>Products</th><td>Collaborative arms, motion controllers</td></tr></table>
<p>Kestrel Motion GmbH was founded in 2017 in Orvane by three engineers from the university's mechatronics lab. We build
lightweight collaborative robot arms for laboratories and small factories.</p>
<p>Today a team of 120 people works at our headquarters on Foundry Quay, Orvane, where design, assembly and testing sit under one roof.</p>
""", aside=[("Partners", [ROBOTICS[2]])], crumbs=["Home", "Company"])

add(W, "tandem-arc.example/about.html", "Tandem Arc Robotics", "About Tandem Arc", """
<p>Since it was founded in 2014, Tandem Arc Robotics has built welding robots for shipyards and steel fabricators. The company
is based in Orvane's old dock district, at 40 Ropewalk.</p>
<p>Our 80 engineers and technicians have installed more than 900 welding cells in twelve countries.</p>
""", aside=[("Also in the cluster", [ROBOTICS[0], ROBOTICS[3]])], crumbs=["Home", "About"])

add(W, "lumen-gripworks.example/index.html", "Lumen Gripworks", "Lumen Gripworks: soft grippers", """
<p>Lumen Gripworks was founded in 2019 as a spin-out of the Orvane Institute of Technology and makes soft robotic grippers for
handling fruit, bakery goods and other delicate products.</p>
<p>Our team of 45 designs and assembles every gripper at our workshop in Orvane.</p>
""", aside=[("Customers and partners", [ROBOTICS[0]])])

add(W, "soryx.example/about-us.html", "Soryx Automation", "About Soryx Automation", """
<p>Soryx Automation is headquartered in Pellam, a short drive from Orvane, where we opened our first workshop in 2018.</p>
<p>With 230 staff, we design autonomous mobile robots for warehouses. Our Orvane showroom is open by appointment, but all
development and manufacturing takes place at the Pellam headquarters.</p>
""", aside=[("Robotics in the region", ROBOTICS[:3])], crumbs=["Home", "About us"])

add(W, "orvane-business-journal.example/2025/02/verity-autonomics.html", "Orvane Business Journal", "Verity Autonomics doubles its team", """
<p>Orvane-based Verity Autonomics, founded in 2016, now employs 75 people after hiring thirty-eight engineers in the past year,
chief executive Hanne Solberg said on Tuesday. The company builds inspection robots for wind turbines.</p>
<p>Verity Autonomics shares a test hall on Foundry Quay with Kestrel Motion, which supplies the arms for its newest crawler.
Solberg said the firm would stay in Orvane: "Our people live here."</p>
""", date="2025-02-11", crumbs=["Home", "2025", "February"], aside=[("Related", [ROBOTICS[0], ROBOTICS[3]])])


# ============================================================================================
# w03: hotels of Hallam Bay (and Tarrow Cove along the coast); no hotel satisfies every condition

W = "w03-hallam-bay-hotels"
HOTELS = [(u(W, "gullcrest-hotel.example/index.html"), "The Gullcrest Hotel"),
          (u(W, "saltmarsh-house.example/rooms.html"), "Saltmarsh House"),
          (u(W, "bellweather-lodge.example/index.html"), "Bellweather Lodge")]

add(W, "hallam-bay-tourism.example/stay/hotels.html", "Visit Hallam Bay", "Hotels in and around Hallam Bay", """
<p>From grand seafront hotels to small inns, here is where to stay on your visit to Hallam Bay.</p>
<ul class="listing">
<li><a href="%s">The Gullcrest Hotel</a> &ndash; Victorian seafront hotel on the Esplanade, Hallam Bay, with a heated outdoor pool.</li>
<li><a href="%s">Saltmarsh House</a> &ndash; boutique hotel by the salt marsh, Hallam Bay, with an indoor pool and spa.</li>
<li><a href="%s">Bellweather Lodge</a> &ndash; family hotel in Tarrow Cove, ten minutes along the coast road, with an indoor pool.</li>
<li>Pebblerun Inn &ndash; six-room pub with rooms on Harbour Hill, Hallam Bay.</li>
</ul>
<p>Looking for self-catering? See our cottages page.</p>
""" % tuple(h for h, _ in HOTELS), crumbs=["Home", "Stay", "Hotels"],
    aside=[("Plan your trip", [(u(W, "coastal-stays-blog.example/2024/hallam-bay-weekend.html"), "A weekend in Hallam Bay")])])

add(W, "gullcrest-hotel.example/index.html", "The Gullcrest Hotel", "The Gullcrest Hotel, Hallam Bay", """
<p>Overlooking the beach from the Esplanade in Hallam Bay, the Gullcrest has welcomed guests since 1889. Its 62 rooms include
twenty sea-view suites.</p>
<h2>Leisure</h2>
<p>Our heated outdoor pool is open from May to September. Please note that the hotel has no indoor pool; guests may use the
town's leisure centre at a reduced rate.</p>
""", aside=[("Other hotels", HOTELS[1:])])

add(W, "saltmarsh-house.example/rooms.html", "Saltmarsh House", "Rooms and spa", """
<p>Saltmarsh House is a boutique hotel on Marsh Road, Hallam Bay, in a Georgian house restored in 2019.</p>
<p>We have 28 rooms, each individually designed. The spa in the old coach house has an indoor swimming pool, a sauna and two
treatment rooms, open to hotel guests every day from 7 am.</p>
""", aside=[("Nearby", [HOTELS[0]])], crumbs=["Home", "Rooms"])

add(W, "bellweather-lodge.example/index.html", "Bellweather Lodge", "Bellweather Lodge", """
<p>Bellweather Lodge stands on the cliffs of Tarrow Cove, four miles along the coast from Hallam Bay. Families love our 55
rooms, our playground and the indoor pool with its separate children's pool.</p>
<p>A free shuttle bus runs to Hallam Bay railway station every hour.</p>
""", aside=[("You may also like", HOTELS[:2])])

add(W, "coastal-stays-blog.example/2024/hallam-bay-weekend.html", "Coastal Stays", "A weekend in Hallam Bay", """
<p>We spent a long weekend in Hallam Bay in October. We stayed two nights at the Gullcrest, whose outdoor pool was already
closed for the winter, and one night at the Driftwood Hotel on Quay Street.</p>
<p>The Driftwood Hotel is the biggest hotel in Hallam Bay, with 48 rooms, but be warned: there is no pool at all, indoor or outdoor.
If a pool matters, Saltmarsh House has a lovely small indoor one.</p>
""", date="2024-10-30", crumbs=["Home", "2024", "Hallam Bay"], aside=[("Where we stayed", HOTELS[:1])])


# ============================================================================================
# w04: breweries of Varrow (and Dunmere, the next village)

W = "w04-varrow-breweries"
BREWS = [(u(W, "copperleaf-brewing.example/about.html"), "Copperleaf Brewing Co."),
         (u(W, "old-tannery-brewhouse.example/"), "Old Tannery Brewhouse"),
         (u(W, "hopsmith-taproom.example/index.html"), "Hopsmith Taproom"),
         (u(W, "nettlebank-brewery.example/our-story.html"), "Nettlebank Brewery"),
         (u(W, "greywater-ales.example/index.html"), "Greywater Ales")]

add(W, "varrow-beer-guide.example/breweries.html", "The Varrow Beer Guide", "Breweries and taprooms", """
<p>Our guide to where beer is made and poured in Varrow and the villages around it. Updated for summer 2025.</p>
<ul>
<li><a href="%s">Copperleaf Brewing Co.</a>: brewery and taproom on Kiln Street, Varrow. Pale ales and a smoked porter.</li>
<li><a href="%s">Old Tannery Brewhouse</a>: small-batch brewery in the old tannery yard, Varrow.</li>
<li><a href="%s">Hopsmith Taproom</a>: a bar on Market Square, Varrow, with twenty taps of guest beers.</li>
<li><a href="%s">Nettlebank Brewery</a>: farmhouse brewery on Nettlebank Lane, Varrow.</li>
<li><a href="%s">Greywater Ales</a>: brewery in Dunmere, two miles west of Varrow.</li>
</ul>
""" % tuple(h for h, _ in BREWS), crumbs=["Home", "Breweries"],
    aside=[("News", [(u(W, "varrow-echo.example/news/2024-09-beer-festival.html"), "Organic beer takes the festival")])])

add(W, "copperleaf-brewing.example/about.html", "Copperleaf Brewing Co.", "About Copperleaf", """
<p>Copperleaf Brewing Co. has been brewing on Kiln Street, Varrow, since 2016. Every beer we sell is brewed here, in our
ten-barrel brewhouse behind the taproom.</p>
<p>We have been certified organic by the Varrow Organic Standards Board since 2019: our malt and hops come from organic farms.</p>
""", aside=[("Other local brewers", BREWS[1:2] + BREWS[3:4])], crumbs=["Home", "About"])

add(W, "old-tannery-brewhouse.example/index.html", "Old Tannery Brewhouse", "Old Tannery Brewhouse", """
<p>We brew small batches of ale in the yard of Varrow's old tannery, where the pits once held bark and hides.</p>
<p>Our brewery has been certified organic since 2020, and we brew four core beers and a seasonal special every month.</p>
""", aside=[("Friends of the brewhouse", BREWS[2:3])])

add(W, "hopsmith-taproom.example/index.html", "Hopsmith Taproom", "Hopsmith Taproom, Market Square", """
<p>Hopsmith is a bar on Market Square in Varrow. We don't brew our own beer: our twenty taps pour certified organic beers
from independent breweries across the region, changed every week.</p>
<p>Food trucks visit on Fridays and Saturdays.</p>
""", aside=[("Breweries on our taps", [BREWS[0], BREWS[4]])])

add(W, "nettlebank-brewery.example/our-story.html", "Nettlebank Brewery", "Our story", """
<p>Nettlebank Brewery started in a barn on Nettlebank Lane, Varrow, in 2012. We brew farmhouse ales with water from our own well.</p>
<p>We buy our hops from growers nearby, but we are not certified organic.</p>
""", aside=[("Neighbours", BREWS[:2])], crumbs=["Home", "Our story"])

add(W, "greywater-ales.example/index.html", "Greywater Ales", "Greywater Ales, Dunmere", """
<p>Greywater Ales is brewed by the river in Dunmere, two miles west of Varrow. Our brewery has been certified organic since 2017.</p>
<p>Find our beers in pubs across Varrow and Dunmere.</p>
""", aside=[("Other breweries", BREWS[:1])])

add(W, "varrow-echo.example/news/2024-09-beer-festival.html", "The Varrow Echo", "Organic beer takes the festival", """
<p>Organic brewers dominated this year's Varrow Beer Festival. The judges' award went to Wickham Lane Brewery, a two-barrel
brewery on Wickham Lane in Varrow that has been certified organic since 2021, for its oat stout.</p>
<p>Runners-up were Copperleaf Brewing, whose porter has won before, and the <a href="%s">Old Tannery Brewhouse</a>.</p>
""" % u(W, "old-tannery-brewhouse.example"), date="2024-09-16", crumbs=["Home", "News"], aside=[("Related", BREWS[:1])])


# ============================================================================================
# w05: veterinary clinics of Tallis (and Marlow Heath to the north)

W = "w05-tallis-vets"
VETS = [(u(W, "fernbrook-vets.example/index.html"), "Fernbrook Veterinary Hospital"),
        (u(W, "tallis-animal-clinic.example/opening-times.html"), "Tallis Animal Clinic"),
        (u(W, "cobble-lane-vets.example/about.html"), "Cobble Lane Vets"),
        (u(W, "marlow-heath-vets.example/index.html"), "Marlow Heath Vets")]

add(W, "tallis-pet-directory.example/vets.html", "Tallis Pet Directory", "Vets in Tallis and district", """
<p>Every veterinary practice in the Tallis district, with the animals they see. Entries are checked every spring.</p>
<dl class="entries">
<dt><a href="%s">Fernbrook Veterinary Hospital</a></dt><dd>12 Fernbrook Road, Tallis. Hospital with in-house imaging.</dd>
<dt><a href="%s">Tallis Animal Clinic</a></dt><dd>Station Parade, Tallis. Dogs, cats and small pets.</dd>
<dt><a href="%s">Cobble Lane Vets</a></dt><dd>8 Cobble Lane, Tallis. Dogs and cats.</dd>
<dt><a href="%s">Marlow Heath Vets</a></dt><dd>The Green, Marlow Heath, 5 km north of Tallis.</dd>
<dt>Pippin Row Vets</dt><dd>3 Pippin Row, Tallis. Open 24 hours, 7 days a week. Treats rabbits, reptiles, birds and other exotic pets as well as dogs and cats.</dd>
</dl>
""" % tuple(h for h, _ in VETS), crumbs=["Home", "Vets"])

add(W, "fernbrook-vets.example/index.html", "Fernbrook Veterinary Hospital", "Fernbrook Veterinary Hospital", """
<table class="infobox">
<tr><th>Address</th><td>12 Fernbrook Road, Tallis</td></tr>
<tr><th>Opening hours</th><td>Open 24 hours, every day of the year</td></tr>
<tr><th>Species</th><td>Dogs, cats, rabbits, reptiles, birds and other exotic pets</td></tr>
</table>
<p>Fernbrook is Tallis's veterinary hospital. Our vets and nurses are on site day and night, so there is always someone to
look after your animal in an emergency.</p>
<p>Our exotics team, led by Dr Amadi Frost, treats tortoises, snakes, parrots, ferrets and other exotic pets.</p>
""", aside=[("Other practices", VETS[1:3])])

add(W, "tallis-animal-clinic.example/opening-times.html", "Tallis Animal Clinic", "Opening times", """
<p>Tallis Animal Clinic, Station Parade, Tallis, is open Monday to Saturday from 8:00 to 19:00 and closed on Sundays.</p>
<p>Outside these hours, please call Fernbrook Veterinary Hospital, which handles our out-of-hours emergencies.</p>
<p>We see exotic pets, including rabbits, guinea pigs, lizards and birds, on Tuesday and Thursday mornings.</p>
""", aside=[("Emergency care", VETS[:1])], crumbs=["Home", "Opening times"])

add(W, "cobble-lane-vets.example/about.html", "Cobble Lane Vets", "About Cobble Lane Vets", """
<p>Cobble Lane Vets, 8 Cobble Lane, Tallis, is open 24 hours a day for our registered patients.</p>
<p>We are a dogs-and-cats practice: we do not treat exotic pets, and we will refer rabbits, birds and reptiles to a colleague.</p>
""", aside=[("Other vets", [VETS[0], VETS[3]])], crumbs=["Home", "About"])

add(W, "marlow-heath-vets.example/index.html", "Marlow Heath Vets", "Marlow Heath Vets", """
<p>Marlow Heath Vets is the village practice on The Green, Marlow Heath, 5 km north of Tallis.</p>
<p>We are open 24 hours and our team treats exotic pets, farm animals and horses as well as dogs and cats.</p>
""", aside=[("In Tallis", VETS[:2])])


# ============================================================================================
# w06: architects of Sellick (and Wendle) and the Corran Medal

W = "w06-sellick-architects"
GUILD = [(u(W, "sellick-design-guild.example/members/varga-holt.html"), "Ines Varga-Holt"),
         (u(W, "sellick-design-guild.example/members/renwick.html"), "Tobias Renwick"),
         (u(W, "sellick-design-guild.example/members/ellery.html"), "Maud Ellery")]

add(W, "sellick-design-guild.example/members/index.html", "Sellick Design Guild", "Our members", """
<p>The Sellick Design Guild is the association of architects practising in Sellick. Members whose profiles are online:</p>
<ul>
<li><a href="%s">Ines Varga-Holt</a>, Varga-Holt Studio</li>
<li><a href="%s">Tobias Renwick</a>, Renwick Office</li>
<li><a href="%s">Maud Ellery</a>, Ellery Architects</li>
</ul>
<p>Corresponding member: <a href="%s">Oskar Thale</a> (Thale Architects, Wendle).</p>
""" % (GUILD[0][0], GUILD[1][0], GUILD[2][0], u(W, "thale-architects.example/about.html")), crumbs=["Home", "Members"])

add(W, "sellick-design-guild.example/members/varga-holt.html", "Sellick Design Guild", "Ines Varga-Holt", """
<p>Ines Varga-Holt founded Varga-Holt Studio in Sellick in 2004, after ten years with larger firms abroad. The studio, on
Chandler's Yard, designs libraries, schools and housing.</p>
<p>She won the Corran Medal in 2019 for the Tanner's Quay Library, praised by the jury for its timber reading hall.</p>
""", aside=[("Other members", GUILD[1:])], crumbs=["Home", "Members", "Ines Varga-Holt"])

add(W, "sellick-design-guild.example/members/renwick.html", "Sellick Design Guild", "Tobias Renwick", """
<p>Tobias Renwick set up Renwick Office in Sellick in 2012. His practice works mostly on the conversion of industrial buildings.</p>
<p>Renwick won the Corran Medal in 2021 for the Gasholder Flats.</p>
""", aside=[("Other members", [GUILD[0], GUILD[2]])], crumbs=["Home", "Members", "Tobias Renwick"])

add(W, "sellick-design-guild.example/members/ellery.html", "Sellick Design Guild", "Maud Ellery", """
<p>Maud Ellery founded Ellery Architects in Sellick in 2001. Her houses in the Sellick hills are known for their turf roofs.</p>
<p>She was shortlisted for the Corran Medal in 2023; the medal went to another Sellick architect that year.</p>
""", aside=[("Other members", GUILD[:2])], crumbs=["Home", "Members", "Maud Ellery"])

add(W, "thale-architects.example/about.html", "Thale Architects", "About Oskar Thale", """
<p>Oskar Thale founded Thale Architects in Wendle, across the estuary from Sellick, in 1998.</p>
<p>He received the Corran Medal in 2015 for the Wendle Ferry Terminal.</p>
""", aside=[("Colleagues", GUILD[:1])], crumbs=["Home", "About"])

add(W, "corran-medal.example/winners.html", "The Corran Medal", "Past winners", """
<p>The Corran Medal is awarded every two years to an architect for a single built work in the Corran region.</p>
<table><thead><tr><th>Year</th><th>Winner</th><th>Practice</th><th>City</th></tr></thead><tbody>
<tr><td>2015</td><td>Oskar Thale</td><td>Thale Architects</td><td>Wendle</td></tr>
<tr><td>2017</td><td>Hedda Morrow</td><td>Morrow + Finch</td><td>Lisle</td></tr>
<tr><td>2019</td><td><a href="%s">Ines Varga-Holt</a></td><td>Varga-Holt Studio</td><td>Sellick</td></tr>
<tr><td>2021</td><td><a href="%s">Tobias Renwick</a></td><td>Renwick Office</td><td>Sellick</td></tr>
<tr><td>2023</td><td>Priya Lanchester</td><td>Lanchester &amp; Moor</td><td>Sellick</td></tr>
</tbody></table>
""" % (GUILD[0][0], GUILD[1][0]), crumbs=["Home", "Winners"],
    aside=[("News", [(u(W, "sellick-herald.example/culture/2023-11-lanchester.html"), "Lanchester wins the Corran Medal")])])

add(W, "sellick-herald.example/culture/2023-11-lanchester.html", "The Sellick Herald", "Lanchester wins the Corran Medal", """
<p>Priya Lanchester won the 2023 Corran Medal on Thursday for the Harrow Street baths, the jury calling the restored pool hall
"generous and exact".</p>
<p>Lanchester founded her Sellick practice, Lanchester &amp; Moor, in 2007 with the engineer Ruth Moor. She beat a shortlist that
included Maud Ellery, also of Sellick.</p>
""", date="2023-11-17", crumbs=["Home", "Culture"], aside=[("Related", GUILD[2:])])


# ============================================================================================
# w07: private note-taking apps

W = "w07-private-note-apps"
APPS = [(u(W, "inkwell-notes.example/pricing.html"), "Inkwell Notes"),
        (u(W, "quillpad.example/features.html"), "Quillpad"),
        (u(W, "marginalia.example/security.html"), "Marginalia Pro"),
        (u(W, "slate-and-sable.example/index.html"), "Slate & Sable")]

add(W, "appwise-reviews.example/roundups/best-private-note-apps.html", "Appwise Reviews", "The best private note-taking apps of 2025", """
<p>We tested five note-taking apps that promise to keep your notes private. Here is how they compare.</p>
<table class="comparison">
<thead><tr><th>App</th><th>End-to-end encryption</th><th>Offline mode</th><th>Price per month</th></tr></thead>
<tbody>
<tr><td><a href="%s">Inkwell Notes</a></td><td>Yes</td><td>Yes</td><td>$3.50</td></tr>
<tr><td><a href="%s">Quillpad</a></td><td>Yes</td><td>Yes</td><td>$6.00</td></tr>
<tr><td><a href="%s">Marginalia Pro</a></td><td>No (at rest only)</td><td>Yes</td><td>$4.00</td></tr>
<tr><td><a href="%s">Slate &amp; Sable</a></td><td>Yes</td><td>No</td><td>$4.00</td></tr>
<tr><td>Tidemark Notes</td><td>Yes</td><td>Yes</td><td>$2.99</td></tr>
</tbody></table>
<p>Our pick is Tidemark Notes, the cheapest of the five, with Inkwell Notes a close second.</p>
""" % tuple(h for h, _ in APPS), date="2025-01-09", crumbs=["Home", "Roundups"],
    aside=[("Read more", [(u(W, "techjot-blog.example/posts/tidemark-notes-review.html"), "Tidemark Notes, reviewed")])])

add(W, "inkwell-notes.example/pricing.html", "Inkwell Notes", "Pricing", """
<p>Inkwell Notes is free on one device. Inkwell Plus, for all your devices, costs $3.50 per month, billed monthly.</p>
<h2>Every plan includes</h2>
<ul><li>End-to-end encryption: only you hold the keys to your notes</li>
<li>Offline mode: write and search without a connection; changes sync when you are back online</li>
<li>Markdown, sketches and voice memos</li></ul>
""", aside=[("Compare", APPS[1:3])], crumbs=["Home", "Pricing"])

add(W, "quillpad.example/features.html", "Quillpad", "Quillpad features", """
<p>Quillpad keeps your notebooks end-to-end encrypted and fully usable offline.</p>
<p>Quillpad Premium costs $6 per month, or $60 a year.</p>
""", aside=[("Alternatives", APPS[:1])], crumbs=["Home", "Features"])

add(W, "marginalia.example/security.html", "Marginalia", "Security at Marginalia", """
<p>Your notes are encrypted in transit and at rest on our servers. Marginalia Pro does not offer end-to-end encryption, which lets
us provide full-text search across your shared workspaces.</p>
<p>Marginalia Pro works offline on desktop and mobile and costs $4 per month.</p>
""", aside=[("See also", APPS[3:])], crumbs=["Home", "Security"])

add(W, "slate-and-sable.example/index.html", "Slate & Sable", "Slate & Sable: notes, sealed", """
<p>Slate &amp; Sable notes are end-to-end encrypted on your device before they reach our servers.</p>
<p>Slate &amp; Sable needs an internet connection: there is no offline mode. The subscription is $4 per month.</p>
""", aside=[("Other apps", APPS[:2])])

add(W, "techjot-blog.example/posts/tidemark-notes-review.html", "TechJot", "Tidemark Notes, reviewed", """
<p>I have used Tidemark Notes for three months. Everything is end-to-end encrypted, and the app works fully offline on
a plane or in a tunnel.</p>
<p>Tidemark Notes costs $2.99 a month after a 30-day trial, which makes it cheaper than Inkwell Notes and Quillpad.</p>
""", date="2025-02-03", crumbs=["Home", "Posts"], aside=[("Other reviews", APPS[:1])])


# ============================================================================================
# w08: music festivals of Corrigan County (and Brae County)

W = "w08-corrigan-festivals"
FESTS = [(u(W, "larkspur-fields.example/about.html"), "Larkspur Fields Festival"),
         (u(W, "rookery-jazz.example/index.html"), "Rookery Jazz Weekend"),
         (u(W, "ember-valley-folk.example/history.html"), "Ember Valley Folk Gathering")]

add(W, "corrigan-county.example/whats-on/festivals.html", "Corrigan County Council", "Music festivals in Corrigan County", """
<p>Corrigan County hosts music festivals every summer. The table shows the year each was first held and its licensed capacity.</p>
<table><thead><tr><th>Festival</th><th>Town</th><th>First held</th><th>Capacity</th></tr></thead><tbody>
<tr><td><a href="%s">Larkspur Fields Festival</a></td><td>Abbeyholm</td><td>1994</td><td>12,000</td></tr>
<tr><td><a href="%s">Rookery Jazz Weekend</a></td><td>Corrigan</td><td>2003</td><td>6,500</td></tr>
<tr><td><a href="%s">Ember Valley Folk Gathering</a></td><td>Ember</td><td>1988</td><td>3,200</td></tr>
<tr><td>Holloway Green Festival</td><td>Holloway</td><td>1979</td><td>8,000</td></tr>
</tbody></table>
""" % tuple(h for h, _ in FESTS), crumbs=["Home", "What's on", "Festivals"])

add(W, "larkspur-fields.example/about.html", "Larkspur Fields", "About the festival", """
<p>Larkspur Fields Festival was first held in 1994 on a farm near Abbeyholm in Corrigan County, with two stages and a few hundred fans.</p>
<p>Three decades later the site is licensed for 12,000 people a day over three days in July.</p>
""", aside=[("Other festivals", FESTS[1:])], crumbs=["Home", "About"])

add(W, "rookery-jazz.example/index.html", "Rookery Jazz Weekend", "Rookery Jazz Weekend", """
<p>Held in the grounds of Rookery Hall in Corrigan town since 2003, the Rookery Jazz Weekend brings swing and bebop to Corrigan County every August.</p>
<p>The park holds 6,500 people; tickets usually sell out in spring.</p>
""", aside=[("Also in the county", FESTS[:1])])

add(W, "ember-valley-folk.example/history.html", "Ember Valley Folk Gathering", "Our history", """
<p>The Ember Valley Folk Gathering began in 1988 as a singalong in the village hall in Ember, Corrigan County.</p>
<p>To keep its friendly feel, the gathering is capped at 3,200 people.</p>
""", aside=[("Friends", FESTS[:2])], crumbs=["Home", "History"])

add(W, "saltwind-sound.example/index.html", "Saltwind Sound", "Saltwind Sound festival", """
<p>Saltwind Sound has filled the dunes of Tellmouth, in Brae County, every June since it was first held in 1997.</p>
<p>Up to 20,000 people camp on the dunes for the festival weekend.</p>
""", aside=[("Neighbours", FESTS[:1])])

add(W, "corrigan-chronicle.example/2025/06/festival-season.html", "Corrigan Chronicle", "Festival season opens", """
<p>Festival season starts this weekend. Larkspur Fields opens the summer in Abbeyholm, and tickets remain for the Sunday.</p>
<p>In Holloway, in the north of Corrigan County, the Holloway Green Festival returns for its 46th year: it was first held in 1979 and now has room for 8,000 people
on the village green and the cricket field.</p>
<p>Across the county line, Saltwind Sound in Tellmouth has sold out.</p>
""", date="2025-06-20", crumbs=["Home", "2025", "June"], aside=[("Related", [FESTS[0], (u(W, "saltwind-sound.example/index.html"), "Saltwind Sound")])])


# ============================================================================================
# w09: charities of Pellow (and Crannock)

W = "w09-pellow-charities"
CHARITIES = [(u(W, "harefield-hedgehogs.example/about.html"), "The Harefield Hedgehog Trust"),
             (u(W, "pellow-food-share.example/index.html"), "Pellow Food Share"),
             (u(W, "ottery-kennel-rescue.example/about.html"), "Ottery Kennel Rescue"),
             (u(W, "riverbank-swans.example/index.html"), "Riverbank Swan Sanctuary")]

add(W, "pellow-volunteers.example/charities.html", "Volunteer Pellow", "Charities looking for volunteers", """
<p>These local charities are looking for volunteers this season. Click a name to find out more.</p>
<ul>
<li><a href="%s">The Harefield Hedgehog Trust</a> &ndash; feeding and cleaning rotas at the hedgehog hospital.</li>
<li><a href="%s">Pellow Food Share</a> &ndash; drivers and warehouse helpers.</li>
<li><a href="%s">Ottery Kennel Rescue</a> &ndash; dog walkers, weekends.</li>
<li><a href="%s">Riverbank Swan Sanctuary</a> &ndash; river patrols in Crannock.</li>
</ul>
""" % tuple(h for h, _ in CHARITIES), crumbs=["Home", "Charities"],
    aside=[("In the news", [(u(W, "pellow-post.example/news/2024-05-little-paws.html"), "Cat rescue finds a home")])])

add(W, "harefield-hedgehogs.example/about.html", "The Harefield Hedgehog Trust", "About the Trust", """
<p>The Harefield Hedgehog Trust rescues and rehabilitates sick and injured hedgehogs from its hospital on Harefield Road, Pellow.</p>
<p>The Trust was registered as a charity on 14 March 2013 (registered charity no. 1150447). Last year we cared for 640 hedgehogs.</p>
""", aside=[("Other animal charities", CHARITIES[2:])], crumbs=["Home", "About"])

add(W, "pellow-food-share.example/index.html", "Pellow Food Share", "Pellow Food Share", """
<p>Pellow Food Share is the food bank for Pellow and its villages, registered as a charity in 2015.</p>
<p>We collect surplus food from shops and farms and deliver parcels to families in need every week.</p>
""", aside=[("Partners", CHARITIES[:1])])

add(W, "ottery-kennel-rescue.example/about.html", "Ottery Kennel Rescue", "About us", """
<p>Ottery Kennel Rescue rehomes abandoned and unwanted dogs from our kennels on Ottery Lane, Pellow.</p>
<p>We have been a registered charity since 2008 and rehome around two hundred dogs a year.</p>
""", aside=[("Other rescues", [CHARITIES[0], CHARITIES[3]])], crumbs=["Home", "About us"])

add(W, "riverbank-swans.example/index.html", "Riverbank Swan Sanctuary", "Riverbank Swan Sanctuary", """
<p>Riverbank Swan Sanctuary rescues injured swans and other waterbirds along the river at Crannock, six miles downstream from Pellow.</p>
<p>We were registered as a charity in 2016 and run entirely on donations.</p>
""", aside=[("Friends upstream", CHARITIES[:1])])

add(W, "pellow-post.example/news/2024-05-little-paws.html", "The Pellow Post", "Cat rescue finds a home", """
<p>Little Paws Pellow, the cat rescue charity run from volunteers' homes since 2018, has moved into a former shop on Bridge Street, Pellow.</p>
<p>The group was registered with the Charity Commission in 2019 and rehomed 150 cats last year. Its founder thanked the
Harefield Hedgehog Trust, which lent the charity its vet room while the shop was refitted.</p>
""", date="2024-05-08", crumbs=["Home", "News"], aside=[("Related", CHARITIES[:1])])


# ============================================================================================
# w10: lightweight electric bikes

W = "w10-fellride-ebikes"
BIKES = [(u(W, "brackenridge-cycles.example/bikes/trail-e1.html"), "Brackenridge Trail E1"),
         (u(W, "corrie-bikes.example/flyer.html"), "Corrie Flyer"),
         (u(W, "nimbus-ebikes.example/step-through.html"), "Nimbus Step-Through")]

add(W, "fellride-magazine.example/tests/lightweight-ebikes-2025.html", "Fellride Magazine", "Lightweight e-bikes tested", """
<p>We rode four electric bikes on the same 60 km loop of fell roads. Weights are measured by us, ranges are the makers' figures.</p>
<table><thead><tr><th>Model</th><th>Weight</th><th>Range</th></tr></thead><tbody>
<tr><td><a href="%s">Brackenridge Trail E1</a></td><td>18.5 kg</td><td>95 km</td></tr>
<tr><td><a href="%s">Corrie Flyer</a></td><td>22.0 kg</td><td>110 km</td></tr>
<tr><td><a href="%s">Nimbus Step-Through</a></td><td>17.9 kg</td><td>70 km</td></tr>
<tr><td>Wren Urban Lite</td><td>19.2 kg</td><td>85 km</td></tr>
</tbody></table>
""" % tuple(h for h, _ in BIKES), date="2025-04-02", crumbs=["Home", "Tests"],
    aside=[("More tests", [(u(W, "fellride-magazine.example/news/wren-urban-lite.html"), "First ride: Wren Urban Lite")])])

add(W, "brackenridge-cycles.example/bikes/trail-e1.html", "Brackenridge Cycles", "Trail E1", """
<p>The Brackenridge Trail E1 is our lightest electric trail bike, built around a carbon frame and a 500 Wh battery.</p>
<table class="specs"><tr><th>Weight</th><td>18.5 kg</td></tr><tr><th>Range</th><td>up to 95 km</td></tr>
<tr><th>Motor</th><td>250 W rear hub</td></tr></table>
""", aside=[("Other bikes", BIKES[1:2])], crumbs=["Home", "Bikes", "Trail E1"])

add(W, "corrie-bikes.example/flyer.html", "Corrie Bikes", "Corrie Flyer", """
<p>The Corrie Flyer is a steel-framed electric tourer that weighs 22 kg and will carry you 110 km on a charge.</p>
""", aside=[("Compare", BIKES[:1])])

add(W, "nimbus-ebikes.example/step-through.html", "Nimbus E-Bikes", "Nimbus Step-Through", """
<p>At 17.9 kg the Nimbus Step-Through is easy to lift onto a train. Its battery gives a range of up to 70 km.</p>
""", aside=[("Compare", BIKES[:2])])

add(W, "fellride-magazine.example/news/wren-urban-lite.html", "Fellride Magazine", "First ride: Wren Urban Lite", """
<p>The Wren Urban Lite is a city e-bike that weighs 19.2 kg with its battery, and Wren claims a range of 85 km.
It climbed every hill of our test loop in the middle assist level.</p>
<p>Compared with the Brackenridge Trail E1 it is heavier but cheaper.</p>
""", date="2025-03-14", crumbs=["Home", "News"], aside=[("Related", BIKES)])

# --------------------------------------------------------------------------------------------

# Pages listed in the sitemap by their folder URL, with the trailing slash.
SLASH_URLS = {"w04-varrow-breweries/old-tannery-brewhouse.example/index.html"}

SITEMAP_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Parallax FindAll evaluation corpus (bench/findall/web), written by bench/findall/make_web.py. FIXTURE_HOST is a
     placeholder for the loopback address bench/findall/run.py serves this folder on. -->
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
"""


def main():
    for d in os.listdir(WEB) if os.path.isdir(WEB) else []:
        if d.startswith("w") and os.path.isdir(os.path.join(WEB, d)):
            shutil.rmtree(os.path.join(WEB, d))
    os.makedirs(WEB, exist_ok=True)
    locs = []
    for rel, text in sorted(PAGES.items()):
        path = os.path.join(WEB, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        locs.append(rel[: -len("index.html")] if rel in SLASH_URLS else rel)
    with open(os.path.join(WEB, "sitemap.xml"), "w", encoding="utf-8") as f:
        f.write(SITEMAP_HEAD + "".join("  <url><loc>http://FIXTURE_HOST/%s</loc></url>\n" % x for x in locs) + "</urlset>\n")
    print("wrote %d pages in %d worlds to %s" % (len(PAGES), len({r.split('/')[0] for r in PAGES}), WEB))


if __name__ == "__main__":
    main()

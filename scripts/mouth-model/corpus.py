"""Sentences for the mouth model's training and held-out data: what a shop host says
(products, prices, offers, chat replies) and everyday talk, built from templates and
word lists with a fixed seed, so every run makes the same corpus."""

import random

PRODUCTS = """insulated bottle, running shoes, desk lamp, leather wallet, phone case, face cream,
wireless earbuds, yoga mat, coffee grinder, rice cooker, silk scarf, travel backpack, vacuum
cleaner, electric toothbrush, gaming mouse, winter jacket, linen shirt, cooking pan, smart
watch, hair dryer, sun hat, glass teapot, wool blanket, bluetooth speaker, makeup brush set,
protein powder, baby stroller, camping tent, kitchen knife, tablet stand, perfume, lipstick,
sneakers, umbrella, suitcase, power bank, air fryer, standing desk, pillow, candle""".replace("\n", " ").split(", ")
ADJECTIVES = """light, soft, bright, quiet, warm, cool, smooth, sturdy, gentle, fresh, bold, smart,
tiny, huge, elegant, simple, cozy, durable, playful, calm, vivid, sleek, rugged, fluffy, crisp,
shiny, velvet, golden, silver, purple, orange, yellow, green, pink, navy, charcoal, beige,
classic, modern, premium, handmade, organic, waterproof, foldable, portable""".replace("\n", " ").split(", ")
FEATURES = """keeps drinks cold for a full day, folds flat in seconds, charges in under an hour,
fits in any bag, washes clean with water, lasts through the whole week, weighs almost nothing,
comes with a two year warranty, works with every phone, heats up in one minute, blocks out the
noise of the city, feels like a cloud under your feet, never leaks in your backpack, looks great
on every desk, survives a drop from the table, smells like fresh lavender, glows softly at night,
stays quiet while you sleep, holds twelve cups of coffee, brews a perfect cup every morning,
protects your skin from the sun, dries your hair twice as fast, lifts stains without scrubbing,
grips the floor in wet weather, tracks your steps and your sleep""".replace("\n", " ").split(", ")
PEOPLE = """Maria, James, Olivia, Liam, Sophia, Noah, Emma, Lucas, Ava, Mateo, Chloe, Ethan, Zoe,
Daniel, Grace, Leo, Hannah, Oscar, Ruby, Felix, Isla, Victor, Nora, Hugo, Mia, Theo, Bella""".replace("\n", " ").split(", ")
PLACES = """the kitchen, the office, the gym, the beach, the garden, the car, the mountains, the
park, the city, the bedroom, the studio, the airport, the train, the cafe, the library, the
balcony, the lake, the forest, the market, the school""".replace("\n", " ").split(", ")
COLOURS = "red, blue, black, white, green, pink, grey, brown, purple, orange, teal, cream, olive, ruby".split(", ")
NUMBERS = """two, three, four, five, six, seven, eight, nine, ten, eleven, twelve, fifteen, twenty,
twenty five, thirty, forty, fifty, sixty, ninety nine, one hundred""".replace("\n", " ").split(", ")
VERBS = """bring, carry, love, try, pack, open, wear, share, gift, pick, check, grab, order,
choose, keep, use, wash, fold, test, hold, touch, compare, unbox, show, taste""".replace("\n", " ").split(", ")
TIMES = """tonight, tomorrow morning, this weekend, right now, in ten minutes, before midnight, all
day long, every Friday, next Monday, this afternoon, at eight o'clock, after the break""".replace("\n", " ").split(", ")
EVERYDAY = """I woke up early and watched the rain on the window.
My grandmother always says that patience is the best recipe.
We walked along the river until the sun went down.
The bus was late again, so I read a whole chapter of my book.
Have you ever tried to cook pasta without salt?
She painted the fence blue and the door bright yellow.
The children laughed when the puppy chased its own tail.
Please remember to water the plants while I am away.
He fixed the old bicycle with nothing but a spoon and some wire.
Thunder rolled over the hills, and the lights flickered twice.
Fresh bread smells better than almost anything in the world.
Our neighbour plays the violin every evening at seven.
Which way is the museum from here?
The soup was too hot, so we waited and talked about the trip.
Voices echoed through the empty hall of the old theatre.
Jump in the pool, the water is perfect today!
Nobody knew why the clock stopped at quarter past four.
Vivid purple flowers grew beside the wooden gate.
Think about what you really need before you buy anything.
Wow, that was the fastest delivery I have ever seen!""".split("\n")

# Everyday words for the word salad: sounds the shop talk above rarely makes.
COMMON = """about above across actually afraid again against almost alone along already always among
animal answer anything apple around autumn avenue baby badge balloon banana basket bathroom beach
bean beard because become bedroom before behind believe below beneath between beyond bicycle bird
birthday blanket blossom border borrow bottom bounce branch bread breakfast breathe bridge brother
bubble bucket budget butter button cabbage camera candle captain careful carpet castle cattle ceiling
century chair chapter cheese cherry chicken chimney choice church circle clever climb clock cloud
coconut coffee collar comfort copper corner cotton country cousin cover crowd cushion daughter
dentist desert dinner doctor dolphin double dragon drawer dream drizzle early earth echo eleven
engine enough evening exactly famous farmer father feather fence fever field finger flavour flower
forest fortune fountain friday frozen garage garlic giant ginger giraffe glove golden grandmother
guitar hammer happen harbour harvest heavy hedgehog helmet honey horizon hospital hundred hungry
island jacket jelly journey judge jungle kettle kitchen knife ladder language laughter lemon lesson
letter level lizard lobster magic marble measure meadow memory mirror monkey monster morning mother
mountain mushroom music napkin narrow needle nothing number ocean office orange oyster paddle palace
pebble pepper person pillow pirate planet pocket potato puzzle quarter queen question rabbit rainbow
rhythm ribbon river rocket saddle salmon sandwich saucer scissors shadow shoulder silver sister
skeleton soldier spider spinach squirrel stomach strawberry sugar summer sunshine supper surprise
teacher theatre thimble thousand thunder tiger tomato tongue towel treasure trumpet tunnel turtle
umbrella uncle valley vegetable village violin voyage walnut weather whisper window winter wizard
yellow yesterday zipper""".split()

TEMPLATES = [
    "Hi everyone, welcome back to the {place_noun} show!",
    "Let me show you the {adj} {product}.",
    "This {product} {feature}.",
    "It {feature}, and it {feature2}.",
    "Today the {product} is only {number} dollars.",
    "Buy two and get the third one free until {time}.",
    "{person}, thank you so much for the question!",
    "{person} asks if the {product} comes in {colour}.",
    "Yes, {person}, we have it in {colour} and {colour2}.",
    "Tap the card below to grab your {product}.",
    "Only {number} left in stock, so be quick!",
    "I take my {product} to {place} every single day.",
    "You can {verb} it, {verb2} it, and {verb3} it without a worry.",
    "Would you {verb} a {adj} {product} like this one?",
    "The {adj} version is back, and it is even better.",
    "We ship within {number} hours, and returns are free.",
    "Feel how {adj} this is, it is just wonderful.",
    "If you are new here, follow us for deals {time}.",
    "My favourite thing about the {product} is that it {feature}.",
    "Look at this {colour} one, isn't it {adj}?",
    "Mix and match the {colour} and the {colour2} ones.",
    "{person} just ordered {number} of them, thank you!",
    "Next up, something for {place}.",
    "Save {number} percent on every {product} {time}.",
    "So, {person}, which one do you like better?",
    "Honestly, I was surprised how {adj} it feels in your hand.",
    "The big sale starts {time}, don't miss it.",
    "Quick question for you all, {colour} or {colour2}?",
]


def _fill(template, rng):
    pick = rng.choice
    return template.format(
        product=pick(PRODUCTS).strip(), adj=pick(ADJECTIVES).strip(), feature=pick(FEATURES).strip(),
        feature2=pick(FEATURES).strip(), person=pick(PEOPLE).strip(), place=pick(PLACES).strip(),
        place_noun=pick(PLACES).strip().replace("the ", ""), colour=pick(COLOURS), colour2=pick(COLOURS),
        number=pick(NUMBERS).strip(), verb=pick(VERBS).strip(), verb2=pick(VERBS).strip(), verb3=pick(VERBS).strip(),
        time=pick(TIMES).strip(),
    )


def _word_salad(rng):
    """Unusual word orders: phoneme pairs the templates never make."""
    words = [w.strip() for w in ADJECTIVES + VERBS + COLOURS + NUMBERS + PEOPLE] + COMMON
    words += [w for p in PRODUCTS for w in p.split()]
    n = rng.randint(5, 11)
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + rng.choice([".", "!", "?", "."])


def sentences(count, seed):
    """`count` distinct sentences, the same ones for the same seed."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < count:
        roll = rng.random()
        if roll < 0.12:
            s = rng.choice(EVERYDAY)
        elif roll < 0.3:
            s = _word_salad(rng)
        else:
            s = _fill(rng.choice(TEMPLATES), rng)
            if rng.random() < 0.3:
                s += " " + _fill(rng.choice(TEMPLATES), rng)
        if s not in seen:
            seen.add(s)
            out.append(s)
    return out


# Written apart from the templates and word lists above and never trained on: the
# held-out figure on these says how the model does on text unlike its training.
NOVEL = """Our bamboo cutting board arrived this morning, and the grain is beautiful.
Would anybody like to see the matching spoons before we move on?
Paula from Lisbon says her order came in two days, wonderful news.
Keep the lid closed while the kettle boils, then pour slowly.
The museum guide whispered jokes about medieval knights.
Zebras graze quietly beside the muddy riverbank at dawn.
Jasmine tea tastes lovely with a slice of fresh ginger.
Hold the brush gently and sweep upward along your cheekbone.
My nephew built a robot that vacuums under the sofa.
Thick socks help when the cabin floor gets chilly.
Is the charger included, or do I need to buy it separately?
Thousands of viewers joined us during yesterday's giveaway.
Squeeze the tube from the bottom so nothing goes to waste.
Beautiful weather brings everybody outside on weekends.
The ceramic mugs are microwave safe and very sturdy.
Could you zoom in on the stitching near the zipper?
Each pouch holds enough snacks for a long hike.
Vanilla, mango and cherry are today's three flavours.
Rub a little oil into the leather every month.
His violin teacher recommended practising scales slowly.
Please double check your shipping address before paying.
Our warehouse team packs every parcel by hand.
Lightweight frames make these glasses comfortable all day.
Unplug the blender before you rinse the blades.
Wolves howled somewhere beyond the frozen lake.
Measure twice, cut once, as my grandfather used to say.
The cushions zip off, so you can machine wash them.
Fifty people asked about the velvet armchair this hour.
Juicy peaches arrive straight from the orchard on Thursdays.
Avoid direct sunlight to keep the colours bright.
Whisk the eggs until they look pale and fluffy.
Our livestream pauses briefly at noon for a short break.
This foldable bike fits into the boot of a small car.
Thanks, Gabriel, your review made the whole team smile.
Blue sapphire earrings sparkle beautifully under lamplight.
Rinse the filter weekly so the water tastes fresh.
Everyone who comments tonight enters the lucky draw.
Puzzle lovers finish this thousand piece set in a weekend.
The oven mitts survive temperatures up to two hundred degrees.
Watch how smoothly the drawer glides shut.""".split("\n")

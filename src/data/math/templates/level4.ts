// Level 4: four steps, chaining level 3's kinds of step (a remainder that forces one more bus, a
// percentage of a product, a rate used twice).
import { countOf } from "../../../formatCount.js";
import { constant, defineTemplate, given, step, type Template } from "../template.js";
import { PERCENTS, wholePercentBase } from "./common.js";

export const LEVEL4: readonly Template[] = [
  defineTemplate({
    name: "shopping.two_kinds_change",
    level: 4,
    sample: (d) => {
      const cups = d.int(2, 8);
      const cupPrice = d.int(3, 12);
      const plates = d.int(2, 8);
      const platePrice = d.int(4, 15);
      const total = cups * cupPrice + plates * platePrice;
      return { cups, cupPrice, plates, platePrice, paid: d.pick([100, 200, 300].filter((b) => b > total)) };
    },
    steps: [
      { op: "*", a: given("cups"), b: given("cupPrice"), say: (eq) => `The cups cost ${eq} dollars.` },
      { op: "*", a: given("plates"), b: given("platePrice"), say: (eq) => `The plates cost ${eq} dollars.` },
      { op: "+", a: step(0), b: step(1), say: (eq) => `Together they cost ${eq} dollars.` },
      {
        op: "-",
        a: given("paid"),
        b: step(2),
        say: (eq, v) => `${v.who.name} gets ${eq} dollars in change.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} buys ${v.n.cups} cups at $${v.n.cupPrice} each and ${v.n.plates} plates at $${v.n.platePrice} each, paying with $${v.n.paid}.`,
        `How much change does ${v.who.name} get?`,
      ],
      (v) => [
        `Cups cost $${v.n.cupPrice} and plates cost $${v.n.platePrice}. ${v.who.name} hands the cashier $${v.n.paid} for ${v.n.plates} plates and ${v.n.cups} cups.`,
        `How many dollars come back as change?`,
      ],
      (v) => [
        `Paying with a $${v.n.paid} bill, ${v.who.name} gets ${v.n.cups} cups priced $${v.n.cupPrice} each along with ${v.n.plates} plates priced $${v.n.platePrice} each.`,
        `What change should ${v.who.name} receive?`,
      ],
    ],
  }),
  defineTemplate({
    name: "travel.shared_trip",
    level: 4,
    sample: (d) => {
      const kmPerLitre = d.int(8, 20);
      const price = d.int(1, 3);
      const friends = d.int(2, 5);
      const litres = d.int(5, 40);
      const fuel = litres * price;
      // The toll makes the total a multiple of the number of friends, so the split is exact.
      const toll = friends * d.int(1, 10) + ((friends - (fuel % friends)) % friends);
      return { kmPerLitre, price, friends, distance: kmPerLitre * litres, toll };
    },
    steps: [
      { op: "/", a: given("distance"), b: given("kmPerLitre"), say: (eq) => `The trip uses ${eq} litres.` },
      { op: "*", a: step(0), b: given("price"), say: (eq) => `The fuel costs ${eq} dollars.` },
      { op: "+", a: step(1), b: given("toll"), say: (eq) => `With the toll the trip costs ${eq} dollars.` },
      { op: "/", a: step(2), b: given("friends"), say: (eq) => `Each friend pays ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.n.friends} friends drive ${v.n.distance} km in a car that goes ${v.n.kmPerLitre} km on a litre of fuel. Fuel is $${v.n.price} a litre and the tolls are $${v.n.toll}. They split the cost equally.`,
        `How much does each friend pay?`,
      ],
      (v) => [
        `${v.who.name} and friends, ${v.n.friends} people in all, share the costs of a ${v.n.distance} kilometre drive: fuel at $${v.n.price} per litre for a car that does ${v.n.kmPerLitre} km per litre, and $${v.n.toll} in tolls.`,
        `What is each person's share?`,
      ],
      (v) => [
        `A road trip of ${v.n.distance} km costs $${v.n.toll} in tolls plus fuel. The car covers ${v.n.kmPerLitre} km per litre, a litre costs $${v.n.price}, and the ${v.n.friends} travellers pay equal shares.`,
        `How many dollars does each traveller pay?`,
      ],
    ],
  }),
  defineTemplate({
    name: "baking.cookie_bags",
    level: 4,
    sample: (d) => {
      const perBatch = d.multiple(50, 150, 400);
      return {
        flour: d.int(500, 3000),
        perBatch,
        cookies: d.int(12, 30),
        eaten: d.int(1, 10),
        perBag: d.int(4, 8),
      };
    },
    steps: [
      {
        op: "/",
        a: given("flour"),
        b: given("perBatch"),
        withRemainder: true,
        say: (eq, v) =>
          `Dividing the flour gives ${eq}, so ${v.who.name} can make ${countOf(v.s(0), "batch", "batches")}.`,
      },
      { op: "*", a: step(0), b: given("cookies"), say: (eq) => `The batches make ${eq} cookies.` },
      { op: "-", a: step(1), b: given("eaten"), say: (eq) => `After the tasting, ${eq} cookies are left.` },
      {
        op: "/",
        a: step(2),
        b: given("perBag"),
        withRemainder: true,
        say: (eq, v) => `Bagging gives ${eq}, so ${countOf(v.s(3), "bag is", "bags are")} full.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} has ${v.n.flour} grams of flour. Each batch of cookies needs ${v.n.perBatch} grams and makes ${v.n.cookies} cookies. ${v.who.name} makes as many whole batches as possible, eats ${v.n.eaten} cookies, and puts the rest in bags of ${v.n.perBag}.`,
        `How many full bags of cookies does ${v.who.name} get?`,
      ],
      (v) => [
        `A cookie recipe uses ${v.n.perBatch} g of flour and gives ${v.n.cookies} cookies. With ${v.n.flour} g of flour, ${v.who.name} bakes only whole batches, tastes ${v.n.eaten} cookies, then fills bags of ${v.n.perBag}.`,
        `How many bags can ${v.who.name} fill?`,
      ],
      (v) => [
        `${v.who.name} fills bags of ${v.n.perBag} cookies after eating ${v.n.eaten}. The cookies come from whole batches of ${v.n.cookies}, each needing ${v.n.perBatch} grams of flour, and ${v.who.name} has ${v.n.flour} grams.`,
        `How many bags are full?`,
      ],
    ],
  }),
  defineTemplate({
    name: "shopping.sale_change",
    level: 4,
    sample: (d) => {
      const percent = d.pick(PERCENTS);
      const price = wholePercentBase(d, percent, 10, 120);
      const count = d.int(2, 5);
      return { percent, price, count, paid: d.pick([100, 200, 500, 1000].filter((b) => b > count * price)) };
    },
    steps: [
      { op: "%", a: given("percent"), b: given("price"), say: (eq) => `Each ticket is ${eq} dollars off.` },
      { op: "-", a: given("price"), b: step(0), say: (eq) => `A ticket costs ${eq} dollars.` },
      { op: "*", a: step(1), b: given("count"), say: (eq) => `The tickets cost ${eq} dollars.` },
      { op: "-", a: given("paid"), b: step(2), say: (eq, v) => `${v.who.name} gets ${eq} dollars back.` },
    ],
    wordings: [
      (v) => [
        `Concert tickets cost $${v.n.price}, but students get ${v.n.percent}% off. ${v.who.name} buys ${v.n.count} student tickets and pays with $${v.n.paid}.`,
        `How much change does ${v.who.name} receive?`,
      ],
      (v) => [
        `${v.who.name} pays $${v.n.paid} for ${v.n.count} museum tickets. Each usually costs $${v.n.price}, and today there is ${v.n.percent}% off.`,
        `How many dollars of change does ${v.who.name} get?`,
      ],
      (v) => [
        `With ${v.n.percent}% off the $${v.n.price} price, ${v.who.name} buys ${v.n.count} tickets and hands over $${v.n.paid}.`,
        `What is ${v.who.name}'s change?`,
      ],
    ],
  }),
  defineTemplate({
    name: "farm.eggs_spare",
    level: 4,
    answer: "remainder",
    sample: (d) => ({ hens: d.int(4, 25), perHen: d.int(3, 6), weeks: d.int(2, 4), broken: d.int(2, 9) }),
    steps: [
      { op: "*", a: given("hens"), b: given("perHen"), say: (eq) => `The hens lay ${eq} eggs a week.` },
      { op: "*", a: step(0), b: given("weeks"), say: (eq) => `Over those weeks they lay ${eq} eggs.` },
      {
        op: "-",
        a: step(1),
        b: given("broken"),
        say: (eq) => `Without the broken ones there are ${eq} eggs.`,
      },
      {
        op: "/",
        a: step(2),
        b: constant(12),
        withRemainder: true,
        say: (eq, v) =>
          `Packing by the dozen gives ${eq}, so ${countOf(v.r(3), "egg is", "eggs are")} left over.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name}'s ${v.n.hens} hens each lay ${v.n.perHen} eggs a week. After ${v.n.weeks} weeks, ${v.n.broken} eggs are broken, and the rest are packed into cartons of 12.`,
        `How many eggs are left over after filling as many cartons as possible?`,
      ],
      (v) => [
        `Over ${v.n.weeks} weeks, ${v.n.hens} hens lay ${v.n.perHen} eggs each per week. ${v.who.name} throws away ${v.n.broken} cracked eggs and packs the others by the dozen.`,
        `How many eggs do not fit into a full carton?`,
      ],
      (v) => [
        `${v.who.name} packs eggs in dozens. The eggs came from ${v.n.hens} hens laying ${v.n.perHen} a week for ${v.n.weeks} weeks, minus ${v.n.broken} that broke.`,
        `How many eggs remain once every full dozen is packed?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.trip_buses",
    level: 4,
    sample: (d) => ({
      students: d.int(40, 200),
      teachers: d.int(3, 12),
      seats: d.pick([20, 30, 40, 50]),
      cost: d.multiple(10, 80, 300),
    }),
    steps: [
      { op: "+", a: given("students"), b: given("teachers"), say: (eq) => `${eq} people are going.` },
      {
        op: "/",
        a: step(0),
        b: given("seats"),
        withRemainder: true,
        say: (eq, v) =>
          `Filling buses gives ${eq}, so ${countOf(v.s(1), "full bus leaves", "full buses leave")} ${countOf(v.r(1), "person", "people")} without a seat.`,
      },
      { op: "+", a: step(1), b: constant(1), say: (eq) => `They need ${eq} buses.` },
      { op: "*", a: step(2), b: given("cost"), say: (eq) => `The buses cost ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.n.students} students and ${v.n.teachers} teachers go on a school trip. Each bus holds ${v.n.seats} people and costs $${v.n.cost} to hire.`,
        `How much does the school pay for enough buses?`,
      ],
      (v) => [
        `A school hires buses at $${v.n.cost} each for a trip. Every bus seats ${v.n.seats}, and ${v.n.teachers} teachers travel with ${v.n.students} students.`,
        `What is the cost of the buses?`,
      ],
      (v) => [
        `Buses with ${v.n.seats} seats cost $${v.n.cost} apiece. ${v.who.name} books just enough of them to take ${v.n.students} students and ${v.n.teachers} teachers to the museum.`,
        `How many dollars does ${v.who.name} spend on buses?`,
      ],
    ],
  }),
  defineTemplate({
    name: "work.savings_percent",
    level: 4,
    sample: (d) => {
      const percent = d.pick(PERCENTS);
      const rate = d.int(8, 30);
      const hours = d.int(2, 8);
      return { rate, hours, days: d.int(2, 6), percent, weeks: d.int(2, 10) };
    },
    steps: [
      {
        op: "*",
        a: given("rate"),
        b: given("hours"),
        say: (eq, v) => `${v.who.name} earns ${eq} dollars a day.`,
      },
      { op: "*", a: step(0), b: given("days"), say: (eq) => `That is ${eq} dollars a week.` },
      { op: "%", a: given("percent"), b: step(1), say: (eq) => `Each week ${eq} dollars are saved.` },
      { op: "*", a: step(2), b: given("weeks"), say: (eq) => `In total ${eq} dollars are saved.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} earns $${v.n.rate} an hour, working ${v.n.hours} hours a day, ${v.n.days} days a week, and saves ${v.n.percent}% of each week's pay.`,
        `How much does ${v.who.name} save in ${v.n.weeks} weeks?`,
      ],
      (v) => [
        `For ${v.n.weeks} weeks, ${v.who.name} puts ${v.n.percent}% of ${v.who.his} weekly wages into savings. ${v.who.name} works ${v.n.days} days a week for ${v.n.hours} hours a day at $${v.n.rate} per hour.`,
        `How many dollars does ${v.who.name} save?`,
      ],
      (v) => [
        `A job pays $${v.n.rate} per hour. ${v.who.name} works ${v.n.hours}-hour days, ${v.n.days} of them each week, keeping ${v.n.percent}% of the pay as savings for ${v.n.weeks} weeks.`,
        `What are ${v.who.name}'s total savings?`,
      ],
    ],
  }),
  defineTemplate({
    name: "home.tiles_cost",
    level: 4,
    sample: (d) => {
      const perBox = d.pick([5, 10, 20]);
      return {
        length: d.int(2, 9),
        width: d.int(2, 9),
        perMetre: d.pick([4, 5, 10]),
        perBox,
        boxPrice: d.int(8, 40),
      };
    },
    steps: [
      { op: "*", a: given("length"), b: given("width"), say: (eq) => `The floor is ${eq} square metres.` },
      { op: "*", a: step(0), b: given("perMetre"), say: (eq) => `It takes ${eq} tiles.` },
      { op: "/", a: step(1), b: given("perBox"), say: (eq) => `That is ${eq} boxes.` },
      { op: "*", a: step(2), b: given("boxPrice"), say: (eq) => `The tiles cost ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} is tiling a floor ${v.n.length} metres long and ${v.n.width} metres wide. Each square metre needs ${v.n.perMetre} tiles, tiles come in boxes of ${v.n.perBox}, and a box costs $${v.n.boxPrice}.`,
        `How much do the tiles cost?`,
      ],
      (v) => [
        `A box of ${v.n.perBox} tiles costs $${v.n.boxPrice}. ${v.who.name}'s ${v.n.length} m by ${v.n.width} m kitchen floor needs ${v.n.perMetre} tiles per square metre.`,
        `What will ${v.who.name} pay for tiles?`,
      ],
      (v) => [
        `At ${v.n.perMetre} tiles for every square metre, ${v.who.name} covers a ${v.n.length} by ${v.n.width} metre room using boxes of ${v.n.perBox} tiles priced at $${v.n.boxPrice}.`,
        `How many dollars are spent on the tiles?`,
      ],
    ],
  }),
  defineTemplate({
    name: "reading.days_to_finish",
    level: 4,
    sample: (d) => {
      const rate = d.int(1, 3);
      const minutes = d.int(5, 20);
      const perDay = d.pick([20, 30, 40, 60]);
      const read = d.int(10, 150);
      // The rate (pages a minute) is what step 0 finds, so the question gives pages and minutes.
      return {
        minutes,
        sample: rate * minutes,
        perDay,
        read,
        pages: read + rate * perDay * d.int(2, 9),
      };
    },
    steps: [
      {
        op: "/",
        a: given("sample"),
        b: given("minutes"),
        say: (eq, v) => `${v.who.name} reads ${eq} ${v.s(0) === 1 ? "page" : "pages"} a minute.`,
      },
      { op: "-", a: given("pages"), b: given("read"), say: (eq) => `There are ${eq} pages left.` },
      { op: "/", a: step(1), b: step(0), say: (eq) => `They take ${eq} minutes to read.` },
      { op: "/", a: step(2), b: given("perDay"), say: (eq) => `That is ${eq} days of reading.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} reads ${v.n.sample} pages in ${v.n.minutes} minutes. ${v.who.name}'s book has ${v.n.pages} pages, ${v.n.read} of them already read, and ${v.who.he} reads for ${v.n.perDay} minutes a day.`,
        `How many days will it take ${v.who.name} to finish the book?`,
      ],
      (v) => [
        `Reading at a steady pace, ${v.who.name} gets through ${v.n.sample} pages every ${v.n.minutes} minutes. ${v.who.name} has read ${v.n.read} pages of a ${v.n.pages}-page book and reads ${v.n.perDay} minutes each day.`,
        `In how many days will ${v.who.name} finish?`,
      ],
      (v) => [
        `A ${v.n.pages}-page book has been read up to page ${v.n.read}. Its reader, ${v.who.name}, manages ${v.n.sample} pages in ${v.n.minutes} minutes and reads ${v.n.perDay} minutes a day.`,
        `How many more days of reading are needed?`,
      ],
    ],
  }),
  defineTemplate({
    name: "party.tip_split",
    level: 4,
    sample: (d) => {
      const percent = d.pick([10, 15, 20, 25]);
      const hosts = d.int(2, 5);
      // Guests a multiple of 4 and a price a multiple of 5 make the food a multiple of 20, of which
      // every tip percentage here is whole.
      return { guests: d.multiple(4, 8, 40), perGuest: d.multiple(5, 10, 40), percent, hosts };
    },
    steps: [
      { op: "*", a: given("guests"), b: given("perGuest"), say: (eq) => `The food costs ${eq} dollars.` },
      { op: "%", a: given("percent"), b: step(0), say: (eq) => `The tip is ${eq} dollars.` },
      { op: "+", a: step(0), b: step(1), say: (eq) => `The bill comes to ${eq} dollars.` },
      { op: "/", a: step(2), b: given("hosts"), say: (eq) => `Each host pays ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `A restaurant charges $${v.n.perGuest} per guest for a dinner with ${v.n.guests} guests. The ${v.n.hosts} hosts add a ${v.n.percent}% tip and split the whole bill equally.`,
        `How much does each host pay?`,
      ],
      (v) => [
        `${v.who.name} and the other hosts, ${v.n.hosts} in all, pay for ${v.n.guests} guests at $${v.n.perGuest} a head, plus a ${v.n.percent}% tip on the food, in equal shares.`,
        `What is each host's share?`,
      ],
      (v) => [
        `The food for ${v.n.guests} guests costs $${v.n.perGuest} each, a ${v.n.percent}% tip is added, and ${v.n.hosts} hosts share the total evenly.`,
        `How many dollars does one host pay?`,
      ],
    ],
  }),
];

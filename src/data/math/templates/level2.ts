// Level 2: two steps, the second using the first's result (buy then pay, use then keep, join then share).
import { countOf } from "../../../formatCount.js";
import { defineTemplate, given, step, type Template } from "../template.js";
import { PERCENTS, wholePercentBase } from "./common.js";

export const LEVEL2: readonly Template[] = [
  defineTemplate({
    name: "shopping.change",
    level: 2,
    sample: (d) => {
      const count = d.int(2, 9);
      const price = d.int(3, 19);
      return { count, price, paid: d.pick([50, 100, 200].filter((b) => b > count * price)) };
    },
    steps: [
      { op: "*", a: given("count"), b: given("price"), say: (eq) => `The notebooks cost ${eq} dollars.` },
      {
        op: "-",
        a: given("paid"),
        b: step(0),
        say: (eq, v) => `${v.who.name} gets ${eq} dollars back.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} buys ${v.n.count} notebooks at $${v.n.price} each and pays with a $${v.n.paid} bill.`,
        `How much change does ${v.who.name} get?`,
      ],
      (v) => [
        `Notebooks cost $${v.n.price} each. ${v.who.name} takes ${v.n.count} of them to the till and hands over $${v.n.paid}.`,
        `How many dollars should ${v.who.name} receive in change?`,
      ],
      (v) => [
        `With a $${v.n.paid} bill, ${v.who.name} pays for ${v.n.count} notebooks that are priced at $${v.n.price} apiece.`,
        `What change is ${v.who.name} owed?`,
      ],
    ],
  }),
  defineTemplate({
    name: "travel.two_days",
    level: 2,
    sample: (d) => ({ speed: d.multiple(5, 40, 95), hours: d.int(2, 6), second: d.int(20, 250) }),
    steps: [
      {
        op: "*",
        a: given("speed"),
        b: given("hours"),
        say: (eq) => `On the first day they drive ${eq} kilometres.`,
      },
      { op: "+", a: step(0), b: given("second"), say: (eq) => `Over both days they drive ${eq} kilometres.` },
    ],
    wordings: [
      (v) => [
        `On a road trip, ${v.who.name}'s family drives at ${v.n.speed} km per hour for ${v.n.hours} hours on the first day. On the second day they drive ${v.n.second} km.`,
        `How many kilometres do they drive over the two days?`,
      ],
      (v) => [
        `${v.who.name} drove ${v.n.hours} hours at a steady ${v.n.speed} kilometres an hour on Saturday and another ${v.n.second} kilometres on Sunday.`,
        `What distance did ${v.who.name} cover that weekend?`,
      ],
      (v) => [
        `The second day of ${v.who.name}'s trip was ${v.n.second} km long. The first day was ${v.n.hours} hours of driving at ${v.n.speed} km/h.`,
        `How far did ${v.who.name} travel in total?`,
      ],
    ],
  }),
  defineTemplate({
    name: "baking.flour_left",
    level: 2,
    sample: (d) => {
      const perBatch = d.multiple(25, 100, 400);
      const batches = d.int(2, 5);
      return { perBatch, batches, bag: d.multiple(500, perBatch * batches + 1, 3000) };
    },
    steps: [
      {
        op: "*",
        a: given("batches"),
        b: given("perBatch"),
        say: (eq) => `The batches use ${eq} grams of flour.`,
      },
      { op: "-", a: given("bag"), b: step(0), say: (eq) => `The bag has ${eq} grams of flour left.` },
    ],
    wordings: [
      (v) => [
        `A bag holds ${v.n.bag} grams of flour. ${v.who.name} bakes ${v.n.batches} batches of bread, each using ${v.n.perBatch} grams.`,
        `How many grams of flour are left in the bag?`,
      ],
      (v) => [
        `${v.who.name} uses ${v.n.perBatch} g of flour per batch of ${v.pick("bake", ["scones", "pancakes", "bread"])} and makes ${v.n.batches} batches from a ${v.n.bag} g bag.`,
        `How much flour remains?`,
      ],
      (v) => [
        `Starting with ${v.n.bag} grams of flour, ${v.who.name} made ${v.n.batches} batches of dough at ${v.n.perBatch} grams each.`,
        `How many grams of flour does ${v.who.name} have afterwards?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.teams",
    level: 2,
    sample: (d) => {
      const size = d.int(3, 6);
      const total = size * d.int(4, 12); // at least 12, so both girls and boys number 5 or more
      const girls = d.int(5, total - 5);
      return { size, girls, boys: total - girls };
    },
    steps: [
      { op: "+", a: given("girls"), b: given("boys"), say: (eq) => `The class has ${eq} students.` },
      { op: "/", a: step(0), b: given("size"), say: (eq) => `That makes ${eq} teams.` },
    ],
    wordings: [
      (v) => [
        `A class has ${v.n.girls} girls and ${v.n.boys} boys. The teacher splits everyone into teams of ${v.n.size}.`,
        `How many teams are there?`,
      ],
      (v) => [
        `For sports day, ${v.who.name}'s class of ${v.n.girls} girls and ${v.n.boys} boys forms teams of ${v.n.size} students each.`,
        `How many teams does the class make?`,
      ],
      (v) => [
        `Teams of ${v.n.size} are made from all the students in a class, where ${v.n.boys} are boys and ${v.n.girls} are girls.`,
        `What is the number of teams?`,
      ],
    ],
  }),
  defineTemplate({
    name: "shopping.discount",
    level: 2,
    sample: (d) => {
      const percent = d.pick(PERCENTS);
      return { percent, price: wholePercentBase(d, percent, 20, 400) };
    },
    steps: [
      { op: "%", a: given("percent"), b: given("price"), say: (eq) => `The discount is ${eq} dollars.` },
      { op: "-", a: given("price"), b: step(0), say: (eq) => `The sale price is ${eq} dollars.` },
    ],
    wordings: [
      (v) => [
        `A ${v.pick("item", ["jacket", "lamp", "backpack"])} costs $${v.n.price}. It is on sale for ${v.n.percent}% off.`,
        `What is the sale price?`,
      ],
      (v) => [
        `${v.who.name} sees a ${v.pick("item", ["jacket", "lamp", "backpack"])} marked $${v.n.price} with a ${v.n.percent}% discount.`,
        `How much will ${v.who.name} pay for it?`,
      ],
      (v) => [
        `During a sale everything is ${v.n.percent}% cheaper, and ${v.who.name} buys a ${v.pick("item", ["jacket", "lamp", "backpack"])} that normally costs $${v.n.price}.`,
        `How many dollars does ${v.who.name} spend?`,
      ],
    ],
  }),
  defineTemplate({
    name: "party.cupcakes",
    level: 2,
    sample: (d) => ({ guests: d.int(5, 30), each: d.int(2, 4), extra: d.int(3, 15) }),
    steps: [
      {
        op: "*",
        a: given("guests"),
        b: given("each"),
        say: (eq) => `The guests need ${eq} cupcakes.`,
      },
      { op: "+", a: step(0), b: given("extra"), say: (eq, v) => `${v.who.name} bakes ${eq} cupcakes.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} is having a party for ${v.n.guests} guests and wants ${v.n.each} cupcakes for each guest, plus ${v.n.extra} spare ones.`,
        `How many cupcakes should ${v.who.name} bake?`,
      ],
      (v) => [
        `Each of the ${v.n.guests} guests at ${v.who.name}'s party will eat ${v.n.each} cupcakes, and ${v.who.name} wants ${v.n.extra} extra in case more people come.`,
        `How many cupcakes does ${v.who.name} need to make?`,
      ],
      (v) => [
        `${v.who.name} bakes ${v.n.extra} cupcakes more than the ${v.n.guests} party guests will eat at ${v.n.each} cupcakes each.`,
        `What is the number of cupcakes ${v.who.name} bakes?`,
      ],
    ],
  }),
  defineTemplate({
    name: "saving.weeks_to_goal",
    level: 2,
    sample: (d) => {
      const perWeek = d.int(5, 25);
      const has = d.int(5, 120);
      return { perWeek, has, goal: has + perWeek * d.int(2, 12) };
    },
    steps: [
      {
        op: "-",
        a: given("goal"),
        b: given("has"),
        say: (eq, v) => `${v.who.name} still needs ${eq} dollars.`,
      },
      { op: "/", a: step(0), b: given("perWeek"), say: (eq) => `Saving takes ${eq} weeks.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name} wants a ${v.pick("goal", ["bike", "guitar", "tablet"])} that costs $${v.n.goal}. ${v.who.name} has $${v.n.has} and saves $${v.n.perWeek} each week.`,
        `How many weeks will it take ${v.who.name} to have enough?`,
      ],
      (v) => [
        `${v.who.name} has saved $${v.n.has} towards a $${v.n.goal} ${v.pick("goal", ["bike", "guitar", "tablet"])} and puts aside $${v.n.perWeek} a week.`,
        `After how many weeks can ${v.who.name} buy it?`,
      ],
      (v) => [
        `Putting away $${v.n.perWeek} every week, ${v.who.name} is saving for something priced at $${v.n.goal} and already has $${v.n.has}.`,
        `How many more weeks of saving does ${v.who.name} need?`,
      ],
    ],
  }),
  defineTemplate({
    name: "market.crates_left",
    level: 2,
    sample: (d) => {
      const crates = d.int(3, 12);
      const perCrate = d.int(10, 40);
      return { crates, perCrate, sold: d.int(10, crates * perCrate - 1) };
    },
    steps: [
      {
        op: "*",
        a: given("crates"),
        b: given("perCrate"),
        say: (eq, v) => `The stall starts with ${eq} ${v.pick("fruit", ["apples", "oranges", "melons"])}.`,
      },
      { op: "-", a: step(0), b: given("sold"), say: (eq) => `After the sales ${eq} are left.` },
    ],
    wordings: [
      (v) => {
        const f = v.pick("fruit", ["apples", "oranges", "melons"]);
        return [
          `${v.who.name}'s market stall has ${v.n.crates} crates with ${v.n.perCrate} ${f} in each. ${v.who.name} sells ${v.n.sold} ${f}.`,
          `How many ${f} are left?`,
        ];
      },
      (v) => {
        const f = v.pick("fruit", ["apples", "oranges", "melons"]);
        return [
          `A greengrocer unpacks ${v.n.crates} crates of ${f}, ${v.n.perCrate} per crate, and sells ${v.n.sold} of them by closing time.`,
          `How many ${f} remain unsold?`,
        ];
      },
      (v) => {
        const f = v.pick("fruit", ["apples", "oranges", "melons"]);
        return [
          `${v.n.sold} ${f} were sold from ${v.n.crates} full crates, and each crate held ${v.n.perCrate}.`,
          `How many ${f} were not sold?`,
        ];
      },
    ],
  }),
  defineTemplate({
    name: "reading.pages_left",
    level: 2,
    sample: (d) => {
      const perDay = d.int(8, 40);
      const days = d.int(2, 9);
      return { perDay, days, pages: perDay * days + d.int(5, 300) };
    },
    steps: [
      {
        op: "*",
        a: given("perDay"),
        b: given("days"),
        say: (eq, v) => `${v.who.name} has read ${eq} pages.`,
      },
      { op: "-", a: given("pages"), b: step(0), say: (eq) => `There are ${eq} pages left.` },
    ],
    wordings: [
      (v) => [
        `${v.who.name}'s book has ${v.n.pages} pages. ${v.who.name} reads ${v.n.perDay} pages a day for ${v.n.days} days.`,
        `How many pages are left to read?`,
      ],
      (v) => [
        `Reading ${v.n.perDay} pages every evening, ${v.who.name} has spent ${v.n.days} evenings on a ${v.n.pages}-page novel.`,
        `How many pages of the novel has ${v.who.name} not read yet?`,
      ],
      (v) => [
        `For ${v.n.days} days ${v.who.name} read ${v.n.perDay} pages a day from a book that is ${v.n.pages} pages long.`,
        `How many pages remain?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.bus_waiting",
    level: 2,
    answer: "remainder",
    sample: (d) => ({ classA: d.int(15, 35), classB: d.int(15, 35), seats: d.pick([8, 12, 15, 20]) }),
    steps: [
      { op: "+", a: given("classA"), b: given("classB"), say: (eq) => `There are ${eq} students.` },
      {
        op: "/",
        a: step(0),
        b: given("seats"),
        withRemainder: true,
        say: (eq, v) =>
          `Filling minibuses gives ${eq}, so ${countOf(v.r(1), "student waits", "students wait")} for the next one.`,
      },
    ],
    wordings: [
      (v) => [
        `Two classes go on a trip: one has ${v.n.classA} students and the other ${v.n.classB}. Minibuses with ${v.n.seats} seats leave only when full.`,
        `How many students are left waiting after all the full minibuses have gone?`,
      ],
      (v) => [
        `${v.n.classA} students from one class and ${v.n.classB} from another line up for minibuses that each seat ${v.n.seats} and only leave full.`,
        `How many students are still waiting at the end?`,
      ],
      (v) => [
        `Minibuses seat ${v.n.seats} students and depart only when every seat is taken. ${v.who.name}'s class of ${v.n.classA} and ${v.friend.name}'s class of ${v.n.classB} are waiting.`,
        `How many students will not fit on a full minibus?`,
      ],
    ],
  }),
];

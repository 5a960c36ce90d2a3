// Level 1: one operation on two-digit numbers (adding, taking away, multiplying or dividing by one digit).
import { countOf } from "../../../formatCount.js";
import { defineTemplate, given, type Template } from "../template.js";

export const LEVEL1: readonly Template[] = [
  defineTemplate({
    name: "shopping.two_items",
    level: 1,
    sample: (d) => ({ shirt: d.int(10, 99), hat: d.int(10, 99) }),
    steps: [
      {
        op: "+",
        a: given("shirt"),
        b: given("hat"),
        say: (eq) => `The shirt and the hat cost ${eq} dollars together.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} buys a shirt for $${v.n.shirt} and a hat for $${v.n.hat}.`,
        `How much does ${v.who.name} spend in all?`,
      ],
      (v) => [
        `At the market a shirt costs $${v.n.shirt} and a hat costs $${v.n.hat}. ${v.who.name} buys one of each.`,
        `What is the total cost of ${v.who.name}'s shopping?`,
      ],
      (v) => [
        `${v.who.name} paid $${v.n.shirt} for a shirt, then $${v.n.hat} for a hat.`,
        `How many dollars did ${v.who.name} pay altogether?`,
      ],
    ],
  }),
  defineTemplate({
    name: "hobby.stickers_gift",
    level: 1,
    sample: (d) => ({ had: d.int(10, 99), got: d.int(10, 99) }),
    steps: [
      {
        op: "+",
        a: given("had"),
        b: given("got"),
        say: (eq, v) => `${v.who.name} now has ${eq} ${v.pick("thing", ["stickers", "stamps", "cards"])}.`,
      },
    ],
    wordings: [
      (v) => {
        const t = v.pick("thing", ["stickers", "stamps", "cards"]);
        return [
          `${v.who.name} has ${v.n.had} ${t}. ${v.friend.name} gives ${v.who.him} ${v.n.got} more.`,
          `How many ${t} does ${v.who.name} have now?`,
        ];
      },
      (v) => {
        const t = v.pick("thing", ["stickers", "stamps", "cards"]);
        return [
          `${v.who.name} collects ${t} and owns ${v.n.had} of them. For ${v.who.his} birthday ${v.who.he} receives another ${v.n.got}.`,
          `How big is ${v.who.name}'s collection after the birthday?`,
        ];
      },
      (v) => {
        const t = v.pick("thing", ["stickers", "stamps", "cards"]);
        return [
          `After ${v.friend.name} handed over ${v.n.got} ${t}, ${v.who.name} added them to the ${v.n.had} ${v.who.he} already had.`,
          `What is the number of ${t} ${v.who.name} has in total?`,
        ];
      },
    ],
  }),
  defineTemplate({
    name: "sports.two_halves",
    level: 1,
    sample: (d) => ({ first: d.int(10, 99), second: d.int(10, 99) }),
    steps: [
      {
        op: "+",
        a: given("first"),
        b: given("second"),
        say: (eq) => `The team scored ${eq} points in the game.`,
      },
    ],
    wordings: [
      (v) => [
        `A basketball team scored ${v.n.first} points in the first half and ${v.n.second} points in the second half.`,
        `How many points did the team score in the whole game?`,
      ],
      (v) => [
        `${v.who.name}'s team got ${v.n.first} points before the break and ${v.n.second} after it.`,
        `What was the team's final score?`,
      ],
      (v) => [
        `In the second half the team added ${v.n.second} points to the ${v.n.first} it had at half time.`,
        `How many points did the team finish with?`,
      ],
    ],
  }),
  defineTemplate({
    name: "travel.distance_left",
    level: 1,
    sample: (d) => {
      const total = d.int(20, 99);
      return { total, driven: d.int(10, total - 1) };
    },
    steps: [
      {
        op: "-",
        a: given("total"),
        b: given("driven"),
        say: (eq) => `There are ${eq} kilometres still to go.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} is driving to a town ${v.n.total} kilometres away and has driven ${v.n.driven} kilometres so far.`,
        `How many kilometres does ${v.who.name} still have to drive?`,
      ],
      (v) => [
        `The trip to the lake is ${v.n.total} km long. ${v.who.name} has already cycled ${v.n.driven} km of it.`,
        `How far is ${v.who.name} from the lake?`,
      ],
      (v) => [
        `Of a ${v.n.total} kilometre journey, ${v.who.name} has covered ${v.n.driven} kilometres.`,
        `What distance is left for ${v.who.name}?`,
      ],
    ],
  }),
  defineTemplate({
    name: "baking.cookies_left",
    level: 1,
    sample: (d) => {
      const baked = d.int(20, 99);
      return { baked, sold: d.int(10, baked - 1) };
    },
    steps: [
      {
        op: "-",
        a: given("baked"),
        b: given("sold"),
        say: (eq, v) => `${v.who.name} has ${eq} ${v.pick("bake", ["cookies", "muffins", "rolls"])} left.`,
      },
    ],
    wordings: [
      (v) => {
        const b = v.pick("bake", ["cookies", "muffins", "rolls"]);
        return [
          `${v.who.name} baked ${v.n.baked} ${b} and sold ${v.n.sold} of them.`,
          `How many ${b} are left?`,
        ];
      },
      (v) => {
        const b = v.pick("bake", ["cookies", "muffins", "rolls"]);
        return [
          `For the school fair ${v.who.name} made ${v.n.baked} ${b}. By noon ${v.n.sold} had been sold.`,
          `How many ${b} did ${v.who.name} still have at noon?`,
        ];
      },
      (v) => {
        const b = v.pick("bake", ["cookies", "muffins", "rolls"]);
        return [
          `${v.who.name} sold ${v.n.sold} of the ${v.n.baked} ${b} ${v.who.he} had baked.`,
          `How many ${b} were not sold?`,
        ];
      },
    ],
  }),
  defineTemplate({
    name: "shopping.packs",
    level: 1,
    sample: (d) => ({ packs: d.int(2, 9), price: d.int(10, 99) }),
    steps: [
      {
        op: "*",
        a: given("packs"),
        b: given("price"),
        say: (eq) => `The packs cost ${eq} dollars.`,
      },
    ],
    wordings: [
      (v) => [
        `A pack of batteries costs $${v.n.price}. ${v.who.name} buys ${v.n.packs} packs.`,
        `How much does ${v.who.name} pay?`,
      ],
      (v) => [
        `${v.who.name} needs ${v.n.packs} packs of batteries, and each pack is $${v.n.price}.`,
        `What will ${v.who.name} spend on batteries?`,
      ],
      (v) => [
        `Batteries are sold in packs at $${v.n.price} each, and ${v.who.name} put ${v.n.packs} packs in the basket.`,
        `How many dollars do the packs in ${v.who.name}'s basket cost?`,
      ],
    ],
  }),
  defineTemplate({
    name: "garden.rows",
    level: 1,
    sample: (d) => ({ rows: d.int(2, 9), perRow: d.int(10, 99) }),
    steps: [
      {
        op: "*",
        a: given("rows"),
        b: given("perRow"),
        say: (eq) => `The garden has ${eq} plants.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} plants ${v.n.rows} rows of ${v.pick("plant", ["tulips", "carrots", "lettuces"])} with ${v.n.perRow} plants in each row.`,
        `How many plants are there in ${v.who.name}'s garden?`,
      ],
      (v) => [
        `Each row of ${v.who.name}'s garden holds ${v.n.perRow} ${v.pick("plant", ["tulips", "carrots", "lettuces"])}, and there are ${v.n.rows} rows.`,
        `How many ${v.pick("plant", ["tulips", "carrots", "lettuces"])} does ${v.who.name} grow?`,
      ],
      (v) => [
        `In ${v.who.name}'s garden there are ${v.n.rows} equal rows, each with ${v.n.perRow} plants.`,
        `What is the total number of plants?`,
      ],
    ],
  }),
  defineTemplate({
    name: "saving.weekly",
    level: 1,
    sample: (d) => ({ weeks: d.int(2, 9), perWeek: d.int(10, 99) }),
    steps: [
      {
        op: "*",
        a: given("weeks"),
        b: given("perWeek"),
        say: (eq, v) => `${v.who.name} saves ${eq} dollars.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} saves $${v.n.perWeek} every week for ${v.n.weeks} weeks.`,
        `How much money does ${v.who.name} save?`,
      ],
      (v) => [
        `For ${v.n.weeks} weeks in a row, ${v.who.name} puts $${v.n.perWeek} into a piggy bank.`,
        `How many dollars are in ${v.who.name}'s piggy bank at the end?`,
      ],
      (v) => [
        `${v.who.name} earns $${v.n.perWeek} a week from a paper round and keeps all of it for ${v.n.weeks} weeks.`,
        `What has ${v.who.name} saved by then?`,
      ],
    ],
  }),
  defineTemplate({
    name: "school.share_pencils",
    level: 1,
    sample: (d) => {
      const kids = d.int(2, 9);
      return { kids, pencils: kids * d.int(2, Math.floor(99 / kids)) };
    },
    steps: [
      {
        op: "/",
        a: given("pencils"),
        b: given("kids"),
        say: (eq) => `Each child gets ${eq} pencils.`,
      },
    ],
    wordings: [
      (v) => [
        `A teacher shares ${v.n.pencils} pencils equally among ${v.n.kids} children.`,
        `How many pencils does each child get?`,
      ],
      (v) => [
        `${v.who.name} has a box of ${v.n.pencils} pencils to split fairly between ${v.n.kids} classmates.`,
        `How many pencils will each classmate receive?`,
      ],
      (v) => [
        `There are ${v.n.kids} children at a table and ${v.n.pencils} pencils to be divided evenly among them.`,
        `What is each child's share of the pencils?`,
      ],
    ],
  }),
  defineTemplate({
    name: "baking.full_boxes",
    level: 1,
    sample: (d) => ({ muffins: d.int(20, 99), perBox: d.int(3, 9) }),
    steps: [
      {
        op: "/",
        a: given("muffins"),
        b: given("perBox"),
        withRemainder: true,
        say: (eq, v) => `Packing ${v.n.perBox} to a box gives ${eq}, so ${v.s(0)} boxes are full.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} baked ${v.n.muffins} muffins and packs them in boxes of ${v.n.perBox}.`,
        `How many boxes can ${v.who.name} fill completely?`,
      ],
      (v) => [
        `A box holds ${v.n.perBox} muffins. ${v.who.name} has ${v.n.muffins} muffins to pack.`,
        `How many full boxes will ${v.who.name} have?`,
      ],
      (v) => [
        `${v.who.name} is putting ${v.n.muffins} muffins into boxes, ${v.n.perBox} to a box.`,
        `How many boxes end up full?`,
      ],
    ],
  }),
  defineTemplate({
    name: "farm.eggs_left_over",
    level: 1,
    answer: "remainder",
    sample: (d) => ({ eggs: d.int(20, 99), perCarton: d.pick([6, 8, 9]) }),
    steps: [
      {
        op: "/",
        a: given("eggs"),
        b: given("perCarton"),
        withRemainder: true,
        say: (eq, v) => `Filling cartons gives ${eq}, so ${countOf(v.r(0), "egg is", "eggs are")} left over.`,
      },
    ],
    wordings: [
      (v) => [
        `${v.who.name} collected ${v.n.eggs} eggs and packs them into cartons of ${v.n.perCarton}.`,
        `How many eggs are left over after filling as many cartons as possible?`,
      ],
      (v) => [
        `Egg cartons on ${v.who.name}'s farm hold ${v.n.perCarton} eggs. Today the hens laid ${v.n.eggs} eggs, and only full cartons are sold.`,
        `How many eggs does ${v.who.name} keep?`,
      ],
      (v) => [
        `${v.who.name} fills cartons of ${v.n.perCarton} with ${v.n.eggs} eggs until no full carton can be made.`,
        `How many eggs remain unpacked?`,
      ],
    ],
  }),
];

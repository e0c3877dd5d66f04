{{ stg_plaatsingen('uwv') }}
